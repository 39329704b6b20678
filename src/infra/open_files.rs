//! The open-file limit: raised to its hard ceiling at start-up, and the
//! share of it that client connections may take, so that an accept never
//! fails with "Too many open files" and the database, Hydra's pipes and the
//! health and metrics listeners always have descriptors left.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept for everything but client connections: the database
/// and its journal, the data-dir lock, Hydra's pipes, the listeners, the
/// runtime's own, and a margin.
const RESERVED: u64 = 128;

/// Raises the soft `RLIMIT_NOFILE` to the hard one (systemd starts services
/// at 1024 soft whatever `LimitNOFILE=` allows). Returns the soft limit in
/// force afterwards; `None` means unlimited.
pub fn raise_soft_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return limit.maximum,
            Err(error) => {
                tracing::warn!(%error, soft = ?limit.current, hard = ?limit.maximum,
                    "cannot raise the open-file limit to its hard ceiling");
            }
        }
    }
    limit.current
}

/// How many client connections fit under `limit` open files: half of what
/// [`RESERVED`] leaves, since a request in flight may hold a second
/// descriptor (its connection to Hydra or a gateway).
pub fn connection_budget(limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return usize::MAX;
    };
    let budget = limit.saturating_sub(RESERVED) / 2;
    usize::try_from(budget).unwrap_or(usize::MAX).max(1)
}

/// `server.max_connections`, lowered to what the open-file limit allows
/// (said once in the log, naming the setting and the limit).
pub fn connection_cap(configured: usize, limit: Option<u64>) -> usize {
    let budget = connection_budget(limit);
    if budget < configured {
        tracing::warn!(
            "server.max_connections = {configured} lowered to {budget}: the open-file limit is \
             {} (raise LimitNOFILE= in the systemd unit, or `ulimit -n`)",
            limit.unwrap_or_default()
        );
        budget
    } else {
        configured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_get_half_of_what_the_reserve_leaves() {
        assert_eq!(connection_budget(Some(1024)), 448);
        assert_eq!(connection_budget(Some(65536)), 32704);
        assert_eq!(connection_budget(Some(10)), 1);
        assert_eq!(connection_budget(None), usize::MAX);
        assert_eq!(connection_cap(4096, Some(1024)), 448);
        assert_eq!(connection_cap(100, Some(65536)), 100);
    }

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        let soft = raise_soft_limit();
        assert_eq!(soft, getrlimit(Resource::Nofile).maximum);
    }
}

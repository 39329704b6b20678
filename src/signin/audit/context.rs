//! Who asked: the client's address, user agent and request id of the
//! request being served, or the operator at the command line. The web layer
//! sets it once per request (`web/audit.rs`) for the request's whole task,
//! the way `infra::metrics::upstream` counts waits, so the sign-in code
//! records events without passing it along every call.

use std::future::Future;
use std::net::IpAddr;

/// User agents are cut to this many characters.
pub const MAX_USER_AGENT_CHARS: usize = 200;
/// Request ids too (a proxy in front may set any value).
const MAX_REQUEST_ID_CHARS: usize = 64;

tokio::task_local! {
    static CONTEXT: RequestContext;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub client_address: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestContext {
    /// From a request's client address and raw header values: cut, with
    /// control characters replaced, so a row prints safely on a terminal.
    pub fn new(
        client_address: Option<IpAddr>,
        user_agent: Option<&[u8]>,
        request_id: Option<&[u8]>,
    ) -> RequestContext {
        RequestContext {
            client_address,
            user_agent: user_agent.and_then(|raw| printable(raw, MAX_USER_AGENT_CHARS)),
            request_id: request_id.and_then(|raw| printable(raw, MAX_REQUEST_ID_CHARS)),
        }
    }

    /// Runs `work` (a request's handling) with this context.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CONTEXT.scope(self, work).await
    }

    /// The context of the request being served, if any.
    pub(super) fn current() -> Option<RequestContext> {
        CONTEXT.try_with(RequestContext::clone).ok()
    }
}

/// At most `max` characters of `raw` (read as UTF-8, lossily), control
/// characters replaced by U+FFFD; None when empty.
fn printable(raw: &[u8], max: usize) -> Option<String> {
    let text: String = String::from_utf8_lossy(raw)
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_cut_and_made_printable() {
        let long = "A".repeat(1000);
        let context = RequestContext::new(None, Some(long.as_bytes()), Some(b"id\x1b[31m"));
        assert_eq!(
            context.user_agent.unwrap().chars().count(),
            MAX_USER_AGENT_CHARS
        );
        assert_eq!(context.request_id.as_deref(), Some("id\u{FFFD}[31m"));
        assert_eq!(
            RequestContext::new(None, Some(b"  "), None).user_agent,
            None
        );
    }

    #[tokio::test]
    async fn the_context_holds_for_the_request_only() {
        let context = RequestContext::new(None, Some(b"curl/8"), None);
        let inside = context
            .clone()
            .scope(async { RequestContext::current() })
            .await;
        assert_eq!(inside, Some(context));
        assert_eq!(RequestContext::current(), None);
    }
}

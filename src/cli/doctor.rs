//! `gatehouse doctor`: checks a deployment and says what to fix.
//!
//! Every check reads only: no port is held, no database written, no SMS
//! sent. Each result is one plain line: `ok: ...`, `problem: ... -- fix:
//! ...`, `warning: ... -- fix: ...` (risky, but maybe meant: the exit
//! status stays 0), or `skip: ...` when a check does not apply.

mod database;
mod delegate;
mod forward_auth;
mod hydra;
mod outbound;
mod secrets;

use outbound::{captcha_provider, legacy_verifier, sms};

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{CodeIssuer, Config, DirectoryKind, HydraMode};
use crate::directory::Directory;
use crate::hydra::config_file::HydraPaths;
use crate::infra::data_dir::DataDir;
use crate::infra::lock;
use crate::store;

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Ok(String),
    Problem { what: String, fix: String },
    Warning { what: String, fix: String },
    Skip(String),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Ok(what) => write!(f, "ok: {what}"),
            Finding::Problem { what, fix } => write!(f, "problem: {what} -- fix: {fix}"),
            Finding::Warning { what, fix } => write!(f, "warning: {what} -- fix: {fix}"),
            Finding::Skip(what) => write!(f, "skip: {what}"),
        }
    }
}

fn ok(what: impl Into<String>) -> Finding {
    Finding::Ok(what.into())
}

fn problem(what: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding::Problem {
        what: what.into(),
        fix: fix.into(),
    }
}

fn warning(what: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding::Warning {
        what: what.into(),
        fix: fix.into(),
    }
}

fn skip(what: impl Into<String>) -> Finding {
    Finding::Skip(what.into())
}

/// Runs every check, passing each finding to `report` as soon as it is known.
pub async fn run(config: &Config, mut report: impl FnMut(&Finding)) -> bool {
    let mut healthy = true;
    let mut emit = |finding: Finding| {
        healthy &= !matches!(finding, Finding::Problem { .. });
        report(&finding);
    };
    emit(ok("configuration is valid"));
    for finding in data_dir_permissions(&config.data_dir) {
        emit(finding);
    }
    for finding in secrets::findings(&config.secrets) {
        emit(finding);
    }
    let supervised = config.hydra.mode == HydraMode::Supervised;
    if supervised {
        emit(hydra::binary(&config.hydra.binary).await);
    }
    let running = match lock::holder(&config.data_dir) {
        Ok(holder) => holder,
        Err(e) => {
            emit(problem(
                format!("cannot tell whether gatehouse runs: {e}"),
                "make the data dir readable by this user (run doctor as the service user)",
            ));
            None
        }
    };
    emit(match running {
        Some(pid) => ok(format!("gatehouse is running on this data dir (pid {pid})")),
        None => ok("gatehouse is not running on this data dir"),
    });
    for finding in ports(config, running.is_some()) {
        emit(finding);
    }
    for finding in hydra::running(config, running.is_some()).await {
        emit(finding);
    }
    if config.otp.issuer == CodeIssuer::Gatehouse {
        for finding in sms(config).await {
            emit(finding);
        }
    } else {
        emit(skip("SMS: the code delegate (otp.issuer) sends the codes"));
    }
    emit(delegate::code_delegate(config).await);
    emit(directory(config).await);
    emit(legacy_verifier(config).await);
    emit(captcha_provider(config).await);
    emit(forward_auth::audience(config));
    match database::postgres(config).await {
        Some(finding) => emit(finding),
        None => emit(database_integrity(
            "gatehouse database",
            &DataDir::new(&config.data_dir).database(),
        )),
    }
    match database::hydra(config).await {
        Some(finding) => emit(finding),
        None if supervised => emit(database_integrity(
            "Hydra database",
            &HydraPaths::new(&config.data_dir).database,
        )),
        None => {}
    }
    healthy
}

/// An `http`, `sql` or `grpc` directory answers a lookup (of an id nobody has).
async fn directory(config: &Config) -> Finding {
    let kind = &config.directory.kind;
    if *kind == DirectoryKind::Embedded {
        return ok("users live in gatehouse's own table (directory.kind = \"embedded\")");
    }
    let key = match kind {
        DirectoryKind::Sql(_) => "directory.sql.url and the queries",
        DirectoryKind::Grpc(_) => "directory.grpc.url, its TLS settings and timeout",
        _ => "directory.http.base_url and the auth header",
    };
    let answer = match Directory::external(&config.directory) {
        Ok(directory) => directory.probe().await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(()) => ok(format!(
            "the user directory answers (directory.kind = \"{}\")",
            kind.as_str()
        )),
        Err(e) => problem(
            format!("{e}"),
            format!("check {key}, and that the directory is up and reachable from here"),
        ),
    }
}

/// The data dir and everything secret in it: private to the service user.
fn data_dir_permissions(data_dir: &Path) -> Vec<Finding> {
    let owner = match std::fs::metadata(data_dir) {
        Ok(m) if m.is_dir() => m.uid(),
        Ok(_) => {
            return vec![problem(
                format!("data dir {} is not a directory", data_dir.display()),
                "point `data_dir` at a directory",
            )]
        }
        Err(_) => {
            return vec![problem(
                format!("data dir {} does not exist", data_dir.display()),
                "correct `data_dir`, or start gatehouse once: it creates the directory",
            )]
        }
    };
    let paths = HydraPaths::new(data_dir);
    let files = DataDir::new(data_dir);
    let mut checked: Vec<(PathBuf, u32)> = vec![
        (data_dir.to_path_buf(), 0o700),
        (files.secrets(), 0o700),
        (paths.dir.clone(), 0o700),
        (paths.config_file.clone(), 0o600),
    ];
    if let Ok(entries) = std::fs::read_dir(files.secrets()) {
        let mut secrets: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        secrets.sort();
        checked.extend(secrets.into_iter().map(|p| (p, 0o600)));
    }
    // Databases: only their owner matters (the dir is private), but a
    // `-wal`/`-shm` left by root locks the service out of its own data.
    let mut owned_only = Vec::new();
    for db in [files.database(), paths.database.clone()] {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            owned_only.push((PathBuf::from(path), None));
        }
    }
    let checked = checked
        .into_iter()
        .map(|(path, mode)| (path, Some(mode)))
        .chain(owned_only);
    let mut findings = Vec::new();
    let mut loose = 0;
    for (path, wanted) in checked {
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue; // created on first start
        };
        let mode = metadata.permissions().mode() & 0o777;
        if let Some(wanted) = wanted.filter(|_| mode & 0o077 != 0) {
            loose += 1;
            findings.push(problem(
                format!("{} has mode {mode:04o}, readable by others", path.display()),
                format!("chmod {wanted:o} {}", path.display()),
            ));
        }
        if metadata.uid() != owner {
            loose += 1;
            findings.push(problem(
                format!(
                    "{} belongs to uid {}, the data dir to uid {owner}",
                    path.display(),
                    metadata.uid()
                ),
                format!(
                    "chown -R {owner}:{owner} {} (or the service user)",
                    data_dir.display()
                ),
            ));
        }
    }
    if loose == 0 {
        findings.push(ok(format!(
            "data dir {} is private (0700) and its secret files are 0600",
            data_dir.display()
        )));
    }
    findings
}

fn ports(config: &Config, running: bool) -> Vec<Finding> {
    let mut wanted = vec![("server.listen", config.server.listen)];
    if let Some(metrics) = config.metrics.listen {
        wanted.push(("metrics.listen", metrics));
    }
    if config.hydra.mode == HydraMode::Supervised {
        for (key, port) in [
            ("hydra.public_port", config.hydra.public_port),
            ("hydra.admin_port", config.hydra.admin_port),
        ] {
            wanted.push((key, SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
        }
    }
    wanted
        .into_iter()
        .map(|(key, addr)| {
            let free = TcpListener::bind(addr).is_ok();
            match (free, running) {
                (true, false) => ok(format!("{key} {addr} is free")),
                (false, true) => ok(format!("{key} {addr} is held by the running gatehouse")),
                (true, true) => problem(
                    format!("{key} {addr} is free although gatehouse runs on this data dir"),
                    "run doctor with the service's configuration \
                     (--config /etc/gatehouse/config.toml)",
                ),
                (false, false) => problem(
                    format!("{key} {addr} is in use by another program"),
                    format!(
                        "stop that program (`ss -ltnp 'sport = :{}'` names it) or change `{key}`",
                        addr.port()
                    ),
                ),
            }
        })
        .collect()
}

fn database_integrity(name: &str, path: &Path) -> Finding {
    if !path.is_file() {
        return skip(format!(
            "{name} {} does not exist yet (created on first start)",
            path.display()
        ));
    }
    let fix = "stop gatehouse and restore the latest backup (gatehouse restore --force DIR)";
    match store::file::integrity_report(path) {
        Ok(None) => ok(format!("{name} {} passes integrity_check", path.display())),
        Ok(Some(report)) => problem(
            format!("{name} {} fails integrity_check: {report}", path.display()),
            fix,
        ),
        Err(e) => problem(
            format!("cannot check {name} {}: {e}", path.display()),
            "run doctor as the service user (sudo -u gatehouse gatehouse doctor ...)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        BotChallengeKind, CaptchaConfig, CaptchaProvider, HttpService, Secret, Signup,
    };

    #[tokio::test]
    async fn unreachable_services_are_problems_naming_their_settings() {
        let mut config = Config::default();
        assert!(matches!(directory(&config).await, Finding::Ok(_)));
        assert!(matches!(captcha_provider(&config).await, Finding::Skip(_)));
        // A port nothing listens on.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        config.users.signup = Signup::Closed;
        config.directory.kind = DirectoryKind::Http(HttpService {
            base_url: format!("http://127.0.0.1:{port}/").parse().unwrap(),
            auth: None,
        });
        config.bot_challenge.kind = BotChallengeKind::Captcha(CaptchaConfig {
            provider: CaptchaProvider::Turnstile,
            site_key: "site".into(),
            secret_key: Secret::new("secret"),
            verify_url: format!("https://127.0.0.1:{port}/verify").parse().unwrap(),
            ca_file: None,
            timeout: Duration::from_secs(1),
        });
        let fix = "directory.http.base_url";
        assert_problem(directory(&config).await, "unavailable", fix);
        let fix = "bot_challenge.verify_url";
        assert_problem(captcha_provider(&config).await, "127.0.0.1", fix);
        let url = format!("http://127.0.0.1:{port}").parse().unwrap();
        config.directory.kind = DirectoryKind::Grpc(url);
        let fix = "directory.grpc.url";
        assert_problem(directory(&config).await, "could not connect", fix);
        assert!(matches!(
            delegate::code_delegate(&config).await,
            Finding::Skip(_)
        ));
        config.otp.issuer = CodeIssuer::Grpc;
        config.otp.grpc.url = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
        let finding = delegate::code_delegate(&config).await;
        assert_problem(finding, "code delegate (grpc)", "[otp.grpc]");
    }

    fn assert_problem(finding: Finding, what_says: &str, key: &str) {
        match finding {
            Finding::Problem { what, fix } => {
                assert!(what.contains(what_says), "{what}");
                assert!(fix.contains(key), "{fix}");
            }
            other => panic!("expected a problem, got {other}"),
        }
    }
}

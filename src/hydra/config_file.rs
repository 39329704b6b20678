//! Hydra's configuration, derived from gatehouse's, and the files it lives in.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use url::Url;

use crate::config::{Config, Secret};
use crate::infra::data_dir::DataDir;
use crate::infra::secrets;

/// Where the supervised Hydra keeps its files inside gatehouse's data dir.
#[derive(Debug, Clone)]
pub struct HydraPaths {
    pub dir: PathBuf,
    pub config_file: PathBuf,
    pub database: PathBuf,
    pub system_secret: PathBuf,
    pub cookie_secret: PathBuf,
}

impl HydraPaths {
    pub fn new(data_dir: &Path) -> HydraPaths {
        let data_dir = DataDir::new(data_dir);
        HydraPaths {
            config_file: data_dir.hydra_config(),
            database: data_dir.hydra_database(),
            system_secret: data_dir.hydra_system_secret(),
            cookie_secret: data_dir.hydra_cookie_secret(),
            dir: data_dir.hydra(),
        }
    }
}

/// Hydra needs `--dev` to accept a plain-http issuer; that is only for
/// development on localhost.
pub fn needs_dev_mode(config: &Config) -> bool {
    config.server.public_url.scheme() == "http"
}

/// Hydra's SQLite settings. With only `_busy_timeout`, a few concurrent
/// sign-ins fail with "database is locked" (seen with 20 at once on 2 CPUs):
/// - `_txlock=immediate`: transactions take the write lock up front; a
///   deferred one that upgrades later gets SQLITE_BUSY at once, unretried;
/// - `lock=false`: pop's in-process write mutexes can deadlock against
///   SQLite's own lock until the busy timeout; SQLite serialises writers;
/// - `max_conns=50`: the default pool (2 per CPU) runs dry while a
///   transaction waits for a second connection, stalling everyone;
/// - `_busy_timeout=10000`: SQLite's busy handler polls (sleeping up to
///   100 ms between tries), so with many writers one can lose for seconds;
///   at 5 s, 16 clients refreshing tokens on 2 CPUs got a few "database is
///   locked" 500s a minute (gatehouse-bench). 10 s stays under gatehouse's
///   15 s deadline for Hydra's answers.
const SQLITE_OPTIONS: &str =
    "_fk=true&_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&lock=false&max_conns=50";

/// Go duration syntax, which Hydra's schema requires (`^(\d+(ns|us|ms|s|m|h))+$`).
fn go_duration(duration: std::time::Duration) -> String {
    format!("{}s", duration.as_secs())
}

/// Where Hydra asks gatehouse, at every token it issues, whether the
/// person may still have tokens and what their claims are now (Hydra's
/// `oauth2.token_hook`), and the key it authenticates with.
#[derive(Debug, Clone)]
pub struct TokenHook {
    pub url: Url,
    pub secret: String,
}

/// The header Hydra sends [`TokenHook::secret`] in.
pub const TOKEN_HOOK_HEADER: &str = "X-Gatehouse-Token-Hook";

/// Hydra's configuration document. JSON is valid YAML, so it is written as
/// pretty JSON into `hydra.yaml`.
pub fn render(
    config: &Config,
    paths: &HydraPaths,
    system_secret: &str,
    cookie_secret: &str,
    token_hook: Option<&TokenHook>,
) -> Value {
    let origin = config.public_origin();
    let hydra = &config.hydra;
    // Custom access-token claims sit at the top of JWT access tokens, where
    // APIs look for them (Hydra also keeps them under `ext`).
    let top_level_claims: Vec<&str> = config
        .claims
        .custom
        .iter()
        .filter(|c| c.into.access_token())
        .map(|c| c.claim.as_str())
        .collect();
    let mut document = json!({
        "serve": {
            "public": { "host": "127.0.0.1", "port": hydra.public_port },
            "admin": { "host": "127.0.0.1", "port": hydra.admin_port },
            // Gatehouse is the only client of both listeners and sets
            // X-Forwarded-Proto from its public URL.
            "tls": { "allow_termination_from": ["127.0.0.1/32", "::1/128"] },
            "cookies": { "same_site_mode": "Lax" },
        },
        "dsn": hydra.postgres_dsn().unwrap_or_else(|| format!(
            "sqlite://{}?{SQLITE_OPTIONS}&_synchronous={}",
            paths.database.display(),
            hydra.tuning.sqlite_synchronous.as_str()
        )),
        "urls": {
            "self": { "issuer": origin, "public": origin },
            "login": format!("{origin}/login"),
            "consent": format!("{origin}/consent"),
            "logout": format!("{origin}/logout"),
            "error": format!("{origin}/error"),
            "post_logout_redirect": format!("{origin}/logged-out"),
        },
        "secrets": { "system": [system_secret], "cookie": [cookie_secret] },
        "oauth2": {
            "pkce": { "enforced_for_public_clients": true },
            // Stored hashes carry their own count: a change applies to new
            // clients, and existing ones keep signing in.
            "hashers": { "algorithm": "pbkdf2", "pbkdf2": {
                "iterations": hydra.tuning.client_secret_pbkdf2_iterations,
            } },
            "allowed_top_level_claims": top_level_claims,
            "grant": { "refresh_token": {
                "rotation_grace_period": go_duration(hydra.refresh_token_rotation_grace_period),
            } },
        },
        "strategies": { "access_token": hydra.access_token_strategy.as_str() },
        "ttl": {
            "access_token": go_duration(hydra.access_token_ttl),
            "refresh_token": go_duration(hydra.refresh_token_ttl),
            "id_token": go_duration(hydra.id_token_ttl),
            "auth_code": go_duration(hydra.auth_code_ttl),
            "login_consent_request": go_duration(hydra.login_consent_request_ttl),
        },
        "log": { "level": hydra.log_level, "format": "json", "leak_sensitive_values": false },
        "sqa": { "opt_out": true },
    });
    if let Some(hook) = token_hook {
        document["oauth2"]["token_hook"] = json!({
            "url": hook.url.as_str(),
            "auth": { "type": "api_key", "config": {
                "in": "header", "name": TOKEN_HOOK_HEADER, "value": hook.secret,
            } },
        });
    }
    document
}

/// Writes Hydra's secrets (created once, kept) and its configuration file
/// into the data dir; returns the system secret (it signs Hydra's opaque
/// tokens). An error names the file it is about.
pub fn write_files(
    config: &Config,
    paths: &HydraPaths,
    token_hook: Option<&TokenHook>,
) -> Result<Secret, (PathBuf, std::io::Error)> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| (path, source)
    };
    let secrets_dir = paths.system_secret.parent().unwrap_or(&paths.dir);
    secrets::create_private_dir(secrets_dir).map_err(at(secrets_dir))?;
    secrets::create_private_dir(&paths.dir).map_err(at(&paths.dir))?;
    let system = secrets::load_or_create(&paths.system_secret).map_err(at(&paths.system_secret))?;
    let cookie = secrets::load_or_create(&paths.cookie_secret).map_err(at(&paths.cookie_secret))?;
    let document = render(config, paths, &system, &cookie, token_hook);
    let text = serde_json::to_string_pretty(&document).expect("JSON value serializes");
    secrets::write_private(&paths.config_file, text.as_bytes()).map_err(at(&paths.config_file))?;
    Ok(Secret::new(system))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hydra_config_points_back_at_gatehouse() {
        let mut config = Config::default();
        config.server.public_url = "https://id.example.com".parse().unwrap();
        let paths = HydraPaths::new(Path::new("/var/lib/gatehouse"));
        let doc = render(
            &config,
            &paths,
            "s".repeat(64).as_str(),
            "c".repeat(64).as_str(),
            None,
        );
        assert_eq!(doc["urls"]["self"]["issuer"], "https://id.example.com");
        assert_eq!(doc["urls"]["login"], "https://id.example.com/login");
        assert_eq!(doc["serve"]["admin"]["host"], "127.0.0.1");
        assert_eq!(doc["serve"]["public"]["host"], "127.0.0.1");
        assert_eq!(doc["ttl"]["refresh_token"], "2592000s");
        assert_eq!(doc["oauth2"]["pkce"]["enforced_for_public_clients"], true);
        assert!(doc["dsn"]
            .as_str()
            .unwrap()
            .starts_with("sqlite:///var/lib/gatehouse/hydra/hydra.sqlite?"));
        assert!(doc["dsn"]
            .as_str()
            .unwrap()
            .ends_with("&_synchronous=NORMAL"));
        assert_eq!(doc["oauth2"]["hashers"]["pbkdf2"]["iterations"], 1000);
        assert!(!needs_dev_mode(&config));
        assert!(needs_dev_mode(&Config::default()));
        assert!(doc["oauth2"].get("token_hook").is_none());

        let hook = TokenHook {
            url: "http://127.0.0.1:9/token-hook".parse().unwrap(),
            secret: "k".repeat(64),
        };
        let doc = render(&config, &paths, "s", "c", Some(&hook));
        let written = &doc["oauth2"]["token_hook"];
        assert_eq!(written["url"], "http://127.0.0.1:9/token-hook");
        assert_eq!(written["auth"]["config"]["name"], TOKEN_HOOK_HEADER);
        assert_eq!(written["auth"]["config"]["value"], hook.secret.as_str());
    }
}

//! The forward-auth scenarios: the verifications a reverse proxy asks for
//! before every protected API request, against gatehouse's `/auth/verify`
//! and, side by side on the same tokens, Ory Oathkeeper's decisions API.
//!
//! Who answers which scenario:
//! - `fa-cached`, `fa-garbage`: the measured gatehouse (good answers cached
//!   for 10 s, its default);
//! - `fa-uncached`: a second gatehouse on the same Hydra (external mode)
//!   with both caches off, so every verification is an introspection;
//! - `fa-jwt`: a third one with `hydra.access_token_strategy = "jwt"`,
//!   checking JWT access tokens against Hydra's published keys;
//! - `oathkeeper-*`: one Oathkeeper with a rule per case (introspection
//!   cached for 10 s, introspection uncached, JWT).
//!
//! Tokens: one per worker from the client-credentials grant, opaque or JWT
//! (a client with Hydra's per-client `access_token_strategy = "jwt"`);
//! garbage ones are new each request and look like Hydra's (`ory_at_...`),
//! the worst case: no cache knows them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::flows::{FlowResult, Owner, StepInfo, Steps};
use crate::lean_http::Connections;
use crate::server::{self, free_port, Binary, Server};

/// The client whose tokens are verified.
const API_CLIENT: &str = "bench-api";
const API_JWT_CLIENT: &str = "bench-api-jwt";
const API_SECRET: &str = "bench-api-secret-0123456789abcdef";

pub const STEPS: &[StepInfo] = &[StepInfo {
    name: "verify",
    owner: Owner::Verifier,
    route: None,
}];

/// A verifying process of its own: a gatehouse beside the measured one, or
/// Oathkeeper.
pub struct Verifier {
    /// The decision URL, without the case's path for Oathkeeper.
    pub url: String,
    pub pid: u32,
    child: Child,
    dir: PathBuf,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        server::stop_child(&mut self.child);
        server::remove_dir(&self.dir);
    }
}

/// Everything the forward-auth scenarios of one gatehouse need.
pub struct ForwardAuth {
    pub cached: String,
    pub uncached: Verifier,
    pub jwt: Verifier,
    pub oathkeeper: Option<Verifier>,
    pub opaque_tokens: Vec<String>,
    pub jwt_tokens: Vec<String>,
    /// `fa-paced`'s verifications a second.
    pub rate: u32,
}

/// Which case a scenario measures, and at whom.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Case {
    Cached,
    Uncached,
    Jwt,
    Garbage,
}

impl ForwardAuth {
    /// Registers the API clients at `server`'s Hydra, gets `workers`
    /// tokens of each kind, and starts the other verifiers (Oathkeeper only
    /// when `oathkeeper` is given).
    pub async fn start(
        server: &Server,
        binary: &Binary,
        oathkeeper: Option<&Path>,
        workers: usize,
        rate: u32,
    ) -> Result<ForwardAuth> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        register(&http, server, API_CLIENT, "opaque").await?;
        register(&http, server, API_JWT_CLIENT, "jwt").await?;
        let mut opaque_tokens = Vec::with_capacity(workers);
        let mut jwt_tokens = Vec::with_capacity(workers);
        for _ in 0..workers {
            opaque_tokens.push(token(&http, server, API_CLIENT).await?);
            jwt_tokens.push(token(&http, server, API_JWT_CLIENT).await?);
        }
        let no_cache = "[forward_auth]\ncache_ttl = \"0s\"\nnegative_cache_ttl = \"0s\"\n";
        let uncached = gatehouse_verifier(binary, server, "", no_cache).await?;
        let jwt =
            gatehouse_verifier(binary, server, "access_token_strategy = \"jwt\"\n", "").await?;
        let oathkeeper = match oathkeeper {
            Some(path) => Some(oathkeeper_verifier(path, server).await?),
            None => None,
        };
        Ok(ForwardAuth {
            cached: format!("{}/auth/verify", server.public),
            uncached,
            jwt,
            oathkeeper,
            opaque_tokens,
            jwt_tokens,
            rate,
        })
    }

    /// The URL a worker asks and the token it shows, for `case` at
    /// gatehouse or (`oathkeeper`) at Oathkeeper; None without Oathkeeper.
    pub fn target(&self, case: Case, oathkeeper: bool) -> Option<(String, Vec<String>)> {
        let tokens = match case {
            Case::Jwt => self.jwt_tokens.clone(),
            Case::Garbage => Vec::new(),
            Case::Cached | Case::Uncached => self.opaque_tokens.clone(),
        };
        let url = if oathkeeper {
            let base = &self.oathkeeper.as_ref()?.url;
            match case {
                Case::Cached | Case::Garbage => format!("{base}/decisions/cached/api"),
                Case::Uncached => format!("{base}/decisions/uncached/api"),
                Case::Jwt => format!("{base}/decisions/jwt/api"),
            }
        } else {
            match case {
                Case::Cached | Case::Garbage => self.cached.clone(),
                Case::Uncached => self.uncached.url.clone(),
                Case::Jwt => self.jwt.url.clone(),
            }
        };
        Some((url, tokens))
    }

    /// The process that verifies `case` (for its CPU and memory), or None
    /// for the measured gatehouse itself.
    pub fn verifier_pid(&self, case: Case, oathkeeper: bool) -> Option<u32> {
        if oathkeeper {
            return self.oathkeeper.as_ref().map(|v| v.pid);
        }
        match case {
            Case::Uncached => Some(self.uncached.pid),
            Case::Jwt => Some(self.jwt.pid),
            Case::Cached | Case::Garbage => None,
        }
    }
}

/// One verification, on `worker`'s connection: 200 for a good token, 401
/// for garbage.
pub async fn flow(
    connections: Arc<Connections>,
    worker: usize,
    token: Option<Arc<str>>,
) -> FlowResult {
    let (token, expected) = match token {
        Some(token) => (token.to_string(), 200),
        None => (garbage_token(), 401),
    };
    let started = Instant::now();
    let status = connections
        .get(worker, &token)
        .await
        .map_err(|e| format!("verify: {e}"))?;
    let steps: Steps = vec![("verify", started.elapsed())];
    if status != expected {
        return Err(format!("verify: {status}, expected {expected}"));
    }
    Ok(steps)
}

/// A token shaped like Hydra's opaque ones, which no one issued.
fn garbage_token() -> String {
    let part = || gatehouse::infra::random::random_hex(24);
    format!("ory_at_{}.{}", part(), part())
}

async fn register(http: &reqwest::Client, server: &Server, id: &str, strategy: &str) -> Result<()> {
    let body = json!({
        "client_id": id, "client_secret": API_SECRET, "scope": "api",
        "grant_types": ["client_credentials"], "access_token_strategy": strategy,
        "token_endpoint_auth_method": "client_secret_post",
    });
    let answer = http
        .post(format!("{}/admin/clients", server.hydra_admin))
        .json(&body)
        .send()
        .await?;
    if answer.status() != 201 {
        bail!(
            "registering {id}: {}: {}",
            answer.status(),
            answer.text().await?
        );
    }
    Ok(())
}

async fn token(http: &reqwest::Client, server: &Server, client: &str) -> Result<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api"),
        ("client_id", client),
        ("client_secret", API_SECRET),
    ];
    let answer: Value = http
        .post(format!("{}/oauth2/token", server.hydra_public))
        .form(&form)
        .send()
        .await?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no access_token for {client}: {answer}"))
}

/// A gatehouse on `server`'s Hydra (external mode, same issuer), with
/// `hydra` and `settings` added to its configuration.
async fn gatehouse_verifier(
    binary: &Binary,
    server: &Server,
    hydra: &str,
    settings: &str,
) -> Result<Verifier> {
    let dir = server::temp_dir()?;
    let port = free_port()?;
    let config = format!(
        "data_dir = {data:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n\
         public_url = \"{issuer}\"\n[hydra]\nmode = \"external\"\n\
         admin_url = \"{admin}\"\npublic_url = \"{public}\"\n{hydra}{settings}",
        data = dir.join("data").display().to_string(),
        issuer = server.public,
        admin = server.hydra_admin,
        public = server.hydra_public,
    );
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config)?;
    let (mut command, _) = server::gatehouse_command(binary, &config_path, &dir.join("log"))?;
    let child = command.spawn().context("start a verifying gatehouse")?;
    let verifier = Verifier {
        url: format!("http://127.0.0.1:{port}/auth/verify"),
        pid: child.id(),
        child,
        dir,
    };
    wait_for(&format!("http://127.0.0.1:{port}/readyz"), &verifier).await?;
    Ok(verifier)
}

/// Oathkeeper with its decisions API on a free port and one rule per case.
async fn oathkeeper_verifier(binary: &Path, server: &Server) -> Result<Verifier> {
    let dir = server::temp_dir()?;
    let (api, proxy) = (free_port()?, free_port()?);
    let rule = |id: &str, authenticator: Value| {
        json!({
            "id": id,
            "match": {"url": format!("http://127.0.0.1:{api}/{id}/<.*>"), "methods": ["GET"]},
            "authenticators": [authenticator],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "noop"}],
        })
    };
    let rules = json!([
        rule("cached", json!({"handler": "oauth2_introspection"})),
        rule(
            "uncached",
            json!({"handler": "oauth2_introspection", "config": {"cache": {"enabled": false}}})
        ),
        rule("jwt", json!({"handler": "jwt"})),
    ]);
    let rules_path = dir.join("rules.json");
    std::fs::write(&rules_path, rules.to_string())?;
    let config = json!({
        "serve": {
            "api": {"host": "127.0.0.1", "port": api},
            "proxy": {"host": "127.0.0.1", "port": proxy},
        },
        "access_rules": {"repositories": [format!("file://{}", rules_path.display())]},
        "authenticators": {
            "oauth2_introspection": {"enabled": true, "config": {
                "introspection_url": format!("{}/admin/oauth2/introspect", server.hydra_admin),
                "cache": {"enabled": true, "ttl": "10s"},
            }},
            "jwt": {"enabled": true, "config": {
                "jwks_urls": [format!("{}/.well-known/jwks.json", server.hydra_public)],
            }},
        },
        "authorizers": {"allow": {"enabled": true}},
        "mutators": {"noop": {"enabled": true}},
        "log": {"level": "error"},
    });
    let config_path = dir.join("oathkeeper.json");
    std::fs::write(&config_path, config.to_string())?;
    let log = std::fs::File::create(dir.join("log"))?;
    let mut command = Command::new(binary);
    command
        .args(["serve", "--config"])
        .arg(&config_path)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    server::dies_with_this_process(&mut command);
    let child = command.spawn().context("start Oathkeeper")?;
    let verifier = Verifier {
        url: format!("http://127.0.0.1:{api}"),
        pid: child.id(),
        child,
        dir,
    };
    wait_for(&format!("http://127.0.0.1:{api}/health/ready"), &verifier).await?;
    Ok(verifier)
}

/// Polls `url` until it answers 200 (30 s at most).
async fn wait_for(url: &str, verifier: &Verifier) -> Result<()> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http.get(url).send().await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(verifier.dir.join("log")).unwrap_or_default();
    bail!("{url} did not answer 200 within 30 s; its log:\n{log}")
}

//! Forward-auth decisions: is this bearer token good for this request?
//! Used by `GET /auth/verify`, which nginx `auth_request`, Caddy
//! `forward_auth` and Traefik `ForwardAuth` call before every request.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod jwt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use url::Url;

use crate::config::{CaFile, ForwardAuthConfig};
use crate::hydra::{HydraClient, HydraError};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;

/// What the upstream learns about an accepted token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub subject: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// The token's other claims (`iss`, `aud`, and the access-token claims
    /// gatehouse put in at consent), for `forward_auth.claim_headers`.
    pub claims: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("no bearer token")]
    MissingToken,
    #[error("the token is not active")]
    InvalidToken,
    #[error("the token lacks scope {0}")]
    InsufficientScope(String),
    #[error("cannot check the token: {0}")]
    Unavailable(#[from] HydraError),
    #[error("cannot fetch Hydra's signing keys: {0}")]
    KeysUnavailable(String),
}

#[derive(Clone)]
pub struct ForwardAuth {
    hydra: HydraClient,
    config: Arc<ForwardAuthConfig>,
    cache: Arc<Mutex<Cache>>,
    clock: Clock,
    introspections: Arc<AtomicU64>,
    /// One lock per shard of token hashes: concurrent first requests with
    /// the same token wait for one introspection instead of each making one.
    in_flight: Arc<Vec<tokio::sync::Mutex<()>>>,
    /// Set with JWT access tokens: verified locally, never introspected.
    jwt: Option<Arc<jwt::JwtVerifier>>,
    metrics: Metrics,
}

const IN_FLIGHT_SHARDS: usize = 64;

/// Token hash -> (what it proved, unix second until which the answer holds).
type Cache = HashMap<[u8; 32], (Principal, i64)>;

/// Where JWT access tokens are checked: Hydra's keys at its public URL,
/// and the issuer the tokens must name.
pub struct JwtKeys {
    pub hydra_public: Url,
    pub ca_file: Option<CaFile>,
    pub issuer: String,
}

impl ForwardAuth {
    /// Checks tokens by introspection at `hydra`, or, with `jwt_keys`
    /// (Hydra's public URL and issuer, when Hydra issues JWT access
    /// tokens), against Hydra's published keys.
    pub fn new(
        hydra: HydraClient,
        config: &ForwardAuthConfig,
        jwt_keys: Option<JwtKeys>,
        clock: Clock,
        metrics: Metrics,
    ) -> ForwardAuth {
        let jwt = jwt_keys.map(|keys| {
            Arc::new(jwt::JwtVerifier::new(
                &keys.hydra_public,
                keys.ca_file.as_ref(),
                &keys.issuer,
                config.audience.clone(),
            ))
        });
        ForwardAuth {
            jwt,
            metrics,
            hydra,
            config: Arc::new(config.clone()),
            cache: Arc::default(),
            clock,
            introspections: Arc::default(),
            in_flight: Arc::new((0..IN_FLIGHT_SHARDS).map(|_| Default::default()).collect()),
        }
    }

    /// Checks `token` for a request to `path`, with `extra_scopes` asked for
    /// by the proxy configuration (`?scope=`).
    pub async fn check(
        &self,
        token: Option<&str>,
        path: &str,
        extra_scopes: &[String],
    ) -> Result<Principal, Denied> {
        let decision = self.decide(token, path, extra_scopes).await;
        self.metrics.forward_auth(match &decision {
            Ok(_) => "allowed",
            Err(Denied::MissingToken | Denied::InvalidToken) => "unauthorized",
            Err(Denied::InsufficientScope(_)) => "forbidden",
            Err(_) => "unavailable",
        });
        decision
    }

    async fn decide(
        &self,
        token: Option<&str>,
        path: &str,
        extra_scopes: &[String],
    ) -> Result<Principal, Denied> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(Denied::MissingToken)?;
        let principal = self.principal(token).await?;
        for scope in self.required_scopes(path).iter().chain(extra_scopes) {
            if !principal.scopes.contains(scope) {
                return Err(Denied::InsufficientScope(scope.clone()));
            }
        }
        Ok(principal)
    }

    /// Scopes the longest matching `[[forward_auth.rules]]` prefix requires.
    fn required_scopes(&self, path: &str) -> Vec<String> {
        self.config
            .rules
            .iter()
            .filter(|rule| path.starts_with(&rule.prefix))
            .max_by_key(|rule| rule.prefix.len())
            .map(|rule| rule.scopes.clone())
            .unwrap_or_default()
    }

    async fn principal(&self, token: &str) -> Result<Principal, Denied> {
        if let Some(jwt) = &self.jwt {
            let principal = jwt.verify(token).await?;
            return if principal.expires_at > self.clock.now() {
                Ok(principal)
            } else {
                Err(Denied::InvalidToken)
            };
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(principal) = self.cached(&key) {
            self.metrics.forward_auth_cache_hit();
            return Ok(principal);
        }
        let _one_at_a_time = self.in_flight[usize::from(key[0]) % IN_FLIGHT_SHARDS]
            .lock()
            .await;
        if let Some(principal) = self.cached(&key) {
            self.metrics.forward_auth_cache_hit();
            return Ok(principal);
        }
        let now = self.clock.now();
        self.introspections.fetch_add(1, Ordering::Relaxed);
        let answer = self.hydra.introspect(token, None).await?;
        let expires_at = answer.exp.unwrap_or(0);
        // Refresh tokens are active too, but they are not for APIs.
        if !answer.active
            || answer
                .token_use
                .as_deref()
                .is_some_and(|u| u != "access_token")
            || expires_at <= now
        {
            return Err(Denied::InvalidToken);
        }
        if let Some(audience) = &self.config.audience {
            if !answer.aud.contains(audience) {
                return Err(Denied::InvalidToken);
            }
        }
        let mut claims = answer.ext.clone();
        if let Some(iss) = &answer.iss {
            claims.insert("iss".into(), Value::from(iss.as_str()));
        }
        claims.insert("aud".into(), Value::from(answer.aud.clone()));
        let principal = Principal {
            claims,
            subject: answer.sub.unwrap_or_default(),
            client_id: answer.client_id.unwrap_or_default(),
            scopes: answer
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            expires_at,
        };
        self.remember(key, &principal, now);
        Ok(principal)
    }

    /// Caches a good answer for at most `cache_ttl` and never past the
    /// token's expiry, so a revoked token stops working within `cache_ttl`.
    fn remember(&self, key: [u8; 32], principal: &Principal, now: i64) {
        let ttl = self.config.cache_ttl.as_secs() as i64;
        if ttl == 0 {
            return;
        }
        let until = (now + ttl).min(principal.expires_at);
        let mut cache = self.lock();
        if cache.len() >= self.config.cache_max_entries {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= self.config.cache_max_entries {
                // Still full of live entries: start over rather than grow.
                cache.clear();
            }
        }
        cache.insert(key, (principal.clone(), until));
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Principal> {
        let now = self.clock.now();
        self.lock()
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(principal, _)| principal.clone())
    }

    /// Calls made to Hydra's introspection endpoint so far.
    pub fn introspection_calls(&self) -> u64 {
        self.introspections.load(Ordering::Relaxed)
    }

    pub fn cached_entries(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

//! Forward-auth decisions: is this bearer token good for this request?
//! Used by `GET /auth/verify`, which nginx `auth_request`, Caddy
//! `forward_auth` and Traefik `ForwardAuth` call before every request.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod jwt;
mod opaque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use url::Url;

use crate::config::{AccessTokenStrategy, CaFile, Config, ForwardAuthConfig};
use crate::domain::{RequestPath, RequestPathError};
use crate::hydra::{HydraClient, HydraError};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::infra::ttl_cache::{SecretHash, TtlCache};
pub use opaque::HydraTokenSignature;

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
    /// Rules exist but the request's path is unknown: the header is
    /// missing, repeated, or came from outside `server.trusted_proxies`.
    #[error("no single {0} header from a trusted proxy names the request's path")]
    NoPath(String),
    #[error("the request's path is refused: {0}")]
    BadPath(#[from] RequestPathError),
}

#[derive(Clone)]
pub struct ForwardAuth {
    hydra: HydraClient,
    config: Arc<ForwardAuthConfig>,
    /// Shared, so that a cache hit costs no copy of the claims.
    cache: Arc<TtlCache<Arc<Principal>>>,
    /// Tokens Hydra called inactive (or not ours), refused without asking
    /// again for `negative_cache_ttl`.
    refused: Arc<TtlCache<()>>,
    clock: Clock,
    introspections: Arc<AtomicU64>,
    /// One lock per shard of token hashes: concurrent first requests with
    /// the same token wait for one introspection instead of each making one.
    in_flight: Arc<Vec<tokio::sync::Mutex<()>>>,
    /// Set with JWT access tokens: verified locally, never introspected.
    jwt: Option<Arc<jwt::JwtVerifier>>,
    /// Set with the supervised Hydra's secret: opaque tokens it cannot
    /// have signed are refused without an introspection.
    signature: Option<Arc<HydraTokenSignature>>,
    metrics: Metrics,
}

const IN_FLIGHT_SHARDS: usize = 64;

/// A window in the cache's unit (milliseconds), however long it was set.
fn millis(window: std::time::Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

/// Longer than any access token Hydra issues (a JWT with many custom
/// claims stays far below).
const MAX_TOKEN_LENGTH: usize = 8192;

/// Is `token` shaped like an access token of Hydra's: opaque
/// (`ory_at_<key>.<signature>`, base64url) or a JWT (three base64url
/// parts)? Refresh tokens (`ory_rt_`) and anything else are not.
fn could_be_an_access_token(token: &str) -> bool {
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if token.len() > MAX_TOKEN_LENGTH {
        return false;
    }
    let (parts, expected) = match token.strip_prefix("ory_at_") {
        Some(opaque) => (opaque, 2),
        None => (token, 3),
    };
    let base64url_parts = parts
        .split('.')
        .try_fold(0, |count, part| base64url(part).then_some(count + 1));
    base64url_parts == Some(expected)
}

/// Where JWT access tokens are checked: Hydra's keys at its public URL,
/// and the issuer the tokens must name.
pub struct JwtKeys {
    pub hydra_public: Url,
    pub ca_file: Option<CaFile>,
    pub issuer: String,
}

impl JwtKeys {
    /// With JWT access tokens, forward auth checks them against Hydra's keys.
    pub fn for_config(config: &Config) -> Option<JwtKeys> {
        (config.hydra.access_token_strategy == AccessTokenStrategy::Jwt).then(|| JwtKeys {
            hydra_public: config.hydra_public_url(),
            ca_file: config.hydra.ca_file().cloned(),
            issuer: config.public_origin(),
        })
    }
}

impl ForwardAuth {
    /// Checks tokens by introspection at `hydra`, or, with `jwt_keys`
    /// (Hydra's public URL and issuer, when Hydra issues JWT access
    /// tokens), against Hydra's published keys. With `signature` (the
    /// supervised Hydra's secret) opaque tokens' signatures are checked
    /// before any introspection.
    pub fn new(
        hydra: HydraClient,
        config: &ForwardAuthConfig,
        (jwt_keys, signature): (Option<JwtKeys>, Option<HydraTokenSignature>),
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
            signature: signature.map(Arc::new),
            metrics,
            hydra,
            config: Arc::new(config.clone()),
            cache: Arc::new(TtlCache::new(config.cache_max_entries)),
            refused: Arc::new(TtlCache::new(config.cache_max_entries)),
            clock,
            introspections: Arc::default(),
            in_flight: Arc::new((0..IN_FLIGHT_SHARDS).map(|_| Default::default()).collect()),
        }
    }

    /// Checks `token` for a request to `target` (the original request's
    /// path and query as a trusted proxy reported it; `None` when it did
    /// not), with `extra_scopes` asked for by the proxy configuration
    /// (`?scope=`).
    pub async fn check(
        &self,
        token: Option<&str>,
        target: Option<&str>,
        extra_scopes: &[String],
    ) -> Result<Arc<Principal>, Denied> {
        let decision = self.decide(token, target, extra_scopes).await;
        self.metrics.forward_auth(match &decision {
            Ok(_) => "allowed",
            Err(Denied::MissingToken | Denied::InvalidToken) => "unauthorized",
            Err(Denied::InsufficientScope(_) | Denied::NoPath(_)) => "forbidden",
            Err(Denied::BadPath(_)) => "bad_path",
            Err(Denied::Unavailable(_) | Denied::KeysUnavailable(_)) => "unavailable",
        });
        decision
    }

    async fn decide(
        &self,
        token: Option<&str>,
        target: Option<&str>,
        extra_scopes: &[String],
    ) -> Result<Arc<Principal>, Denied> {
        // The path first: a request no rule can be judged for costs no
        // introspection.
        let required = self.required_scopes(target)?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(Denied::MissingToken)?;
        let principal = self.principal(token).await?;
        for scope in required.iter().chain(extra_scopes) {
            if !principal.scopes.contains(scope) {
                return Err(Denied::InsufficientScope(scope.clone()));
            }
        }
        Ok(principal)
    }

    /// Scopes the longest `[[forward_auth.rules]]` prefix of the normalised
    /// path requires. With rules, an unknown path fails closed.
    fn required_scopes(&self, target: Option<&str>) -> Result<Vec<String>, Denied> {
        let rules = &self.config.rules;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let target = target.ok_or_else(|| Denied::NoPath(self.config.uri_header.to_string()))?;
        let path = RequestPath::parse(target)?;
        Ok(rules
            .iter()
            .filter(|rule| path.as_str().starts_with(&rule.prefix))
            .max_by_key(|rule| rule.prefix.len())
            .map(|rule| rule.scopes.clone())
            .unwrap_or_default())
    }

    async fn principal(&self, token: &str) -> Result<Arc<Principal>, Denied> {
        // A flood of tokens Hydra cannot have issued costs no introspection.
        if !could_be_an_access_token(token) {
            return Err(Denied::InvalidToken);
        }
        let key: SecretHash = Sha256::digest(token.as_bytes()).into();
        if let Some(answer) = self.cached(token, &key) {
            return answer;
        }
        if let Some(jwt) = &self.jwt {
            return self.verify_jwt(jwt, token, key).await;
        }
        if let Some(signature) = &self.signature {
            if !signature.signed_by_hydra(token) {
                return Err(Denied::InvalidToken);
            }
        }
        let _one_at_a_time = self.one_at_a_time(&key).await;
        if let Some(answer) = self.cached(token, &key) {
            return answer;
        }
        self.ask_hydra(token, key).await
    }

    /// Concurrent requests with the same token wait for one introspection
    /// instead of each making one.
    async fn one_at_a_time(&self, key: &SecretHash) -> tokio::sync::MutexGuard<'_, ()> {
        self.in_flight[usize::from(key[0]) % IN_FLIGHT_SHARDS]
            .lock()
            .await
    }

    /// Introspects `token` and keeps the answer: a good one as
    /// [`ForwardAuth::remember`] says, a refusal for `negative_cache_ttl`
    /// (in place of a good one kept before); a Hydra outage is not kept.
    async fn ask_hydra(&self, token: &str, key: SecretHash) -> Result<Arc<Principal>, Denied> {
        let now = self.clock.now_millis();
        let answer = self.introspect(token, now / 1000).await.map(Arc::new);
        match &answer {
            Ok(principal) => self.remember(key, principal, now, true),
            Err(Denied::InvalidToken) => {
                self.cache.remove(&key);
                let until = now.saturating_add(millis(self.config.negative_cache_ttl));
                self.refused.insert(key, (), until, None, now);
            }
            Err(_) => {}
        }
        answer
    }

    /// Asks Hydra about a cached token again while its answer still holds,
    /// so that no request waits when it would have expired; one revoked
    /// meanwhile is refused from then on.
    fn refresh_in_background(&self, token: &str, key: SecretHash) {
        let this = self.clone();
        let token = token.to_owned();
        tokio::spawn(async move {
            let _one_at_a_time = this.one_at_a_time(&key).await;
            // A failed refresh keeps the old answer until it expires.
            let _ = this.ask_hydra(&token, key).await;
        });
    }

    /// Checks a JWT access token's signature and claims locally. A good
    /// answer is cached like an introspected one (an API client sends the
    /// same token many times, and a signature check costs far more than a
    /// lookup); refusals are not, so a token signed with a key fetched a
    /// moment later is not held refused.
    async fn verify_jwt(
        &self,
        jwt: &jwt::JwtVerifier,
        token: &str,
        key: SecretHash,
    ) -> Result<Arc<Principal>, Denied> {
        let principal = Arc::new(jwt.verify(token).await?);
        let now = self.clock.now_millis();
        if principal.expires_at.saturating_mul(1000) <= now {
            return Err(Denied::InvalidToken);
        }
        self.remember(key, &principal, now, false);
        Ok(principal)
    }

    /// Asks Hydra about `token` (never cached here).
    async fn introspect(&self, token: &str, now: i64) -> Result<Principal, Denied> {
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
        Ok(Principal {
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
        })
    }

    /// Caches a good answer for at most `cache_ttl` and never past the
    /// token's expiry, so a revoked token stops working within `cache_ttl`.
    /// An introspected one (`ask_again`) is asked about again ahead of its
    /// expiry, at a random point between half and three quarters of its
    /// window: answers cached together (the first requests after a start)
    /// are then not all asked about again at once.
    fn remember(&self, key: SecretHash, principal: &Arc<Principal>, now: i64, ask_again: bool) {
        let ttl = millis(self.config.cache_ttl);
        let expires = principal.expires_at.saturating_mul(1000);
        let until = now.saturating_add(ttl).min(expires);
        let refresh_at =
            (ask_again && expires > until).then(|| now + ttl / 2 + rand::random_range(0..=ttl / 4));
        self.cache
            .insert(key, principal.clone(), until, refresh_at, now);
    }

    /// A cached answer, good or refused, counted as a cache hit; a good one
    /// due for its refresh starts that.
    fn cached(&self, token: &str, key: &SecretHash) -> Option<Result<Arc<Principal>, Denied>> {
        let now = self.clock.now_millis();
        let answer = match self.cache.get(key, now) {
            Some(hit) => {
                if hit.refresh {
                    self.refresh_in_background(token, *key);
                }
                Ok(hit.value)
            }
            None => Err(self.refused.get(key, now).map(|_| Denied::InvalidToken)?),
        };
        self.metrics.forward_auth_cache_hit();
        Some(answer)
    }

    /// Calls made to Hydra's introspection endpoint so far.
    pub fn introspection_calls(&self) -> u64 {
        self.introspections.load(Ordering::Relaxed)
    }

    /// Good answers cached.
    pub fn cached_entries(&self) -> usize {
        self.cache.len()
    }

    /// Refusals cached.
    pub fn refused_entries(&self) -> usize {
        self.refused.len()
    }
}

#[cfg(test)]
mod tests {
    use super::could_be_an_access_token;

    #[test]
    fn only_tokens_shaped_like_hydras_access_tokens_are_asked_about() {
        for token in [
            "ory_at_Zm9v.YmFy",
            "ory_at_a-b_c.d-e_f",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        ] {
            assert!(could_be_an_access_token(token), "{token}");
        }
        let long = format!("ory_at_{}.x", "a".repeat(9000));
        for token in [
            "",
            "garbage",
            "ory_rt_Zm9v.YmFy",
            "ory_at_Zm9v",
            "ory_at_Zm9v.",
            "ory_at_Zm9v.YmFy.YmF6",
            "ory_at_Zm9v.Ym=y",
            "a.b",
            "a.b.c.d",
            "a..c",
            "a.b.c d",
            "ory_at_Zm9v.YmFy\n",
            long.as_str(),
        ] {
            assert!(!could_be_an_access_token(token), "{token:?}");
        }
    }
}

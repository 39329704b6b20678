//! Local verification of Hydra's JWT access tokens (`access_token_strategy
//! = "jwt"`): signature against Hydra's JWKS, issuer, expiry and not-before,
//! with no call to Hydra per request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use crate::config::CaFile;
use crate::infra::http::{self, Peer};

use super::{Denied, Principal};

/// An unknown `kid` refetches the JWKS (key rotation), but at most this often,
/// so a flood of made-up kids cannot turn into a flood of fetches.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

pub struct JwtVerifier {
    http: reqwest::Client,
    jwks_url: String,
    forwarded_proto: &'static str,
    issuer: String,
    audience: Option<String>,
    /// Hydra's signing keys by `kid`, parsed once per fetch.
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

/// The claims of a Hydra JWT access token that matter here.
#[derive(Deserialize)]
struct AccessClaims {
    sub: String,
    client_id: String,
    #[serde(default)]
    scp: Vec<String>,
    exp: i64,
    /// Everything else (`iss`, `aud`, `ext` with gatehouse's claims, ...).
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl JwtVerifier {
    /// `hydra_public` is where Hydra's public API listens; `issuer` is the
    /// public origin that signs as.
    pub fn new(
        hydra_public: &Url,
        ca_file: Option<&CaFile>,
        issuer: &str,
        audience: Option<String>,
    ) -> JwtVerifier {
        let http = http::client(Peer::Hydra {
            timeout: Duration::from_secs(5),
            ca_file,
        });
        JwtVerifier {
            http,
            jwks_url: format!(
                "{}/.well-known/jwks.json",
                hydra_public.as_str().trim_end_matches('/')
            ),
            forwarded_proto: if issuer.starts_with("https://") {
                "https"
            } else {
                "http"
            },
            issuer: issuer.to_string(),
            audience,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, Denied> {
        let header = decode_header(token).map_err(|_| Denied::InvalidToken)?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256
        ) {
            return Err(Denied::InvalidToken);
        }
        let kid = header.kid.ok_or(Denied::InvalidToken)?;
        let key = match self.key(&kid).await {
            Some(key) => key,
            None => {
                self.refetch().await?;
                self.key(&kid).await.ok_or(Denied::InvalidToken)?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.validate_nbf = true;
        match &self.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation.leeway = 2;
        // An id_token is signed by the same key but is not an access token:
        // it lacks client_id, so decoding into AccessClaims refuses it.
        let claims = decode::<AccessClaims>(token, &key, &validation)
            .map_err(|_| Denied::InvalidToken)?
            .claims;
        // Hydra nests the consent's access-token claims under `ext`.
        let mut rest = claims.rest;
        if let Some(Value::Object(ext)) = rest.remove("ext") {
            rest.extend(ext);
        }
        Ok(Principal {
            claims: rest,
            subject: claims.sub,
            client_id: claims.client_id,
            scopes: claims.scp,
            expires_at: claims.exp,
        })
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().await.get(kid).cloned()
    }

    async fn refetch(&self) -> Result<(), Denied> {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFETCH_INTERVAL) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let fetched = self
            .http
            .get(&self.jwks_url)
            .header("x-forwarded-proto", self.forwarded_proto)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let keys: JwkSet = match fetched {
            Ok(response) => response.json().await.map_err(jwks_error)?,
            Err(e) => return Err(jwks_error(e)),
        };
        // A key this library cannot use (another kty) is left out: tokens
        // naming it are refused like tokens naming no key at all.
        let usable = keys
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                Some((kid, DecodingKey::from_jwk(jwk).ok()?))
            })
            .collect();
        *self.keys.write().await = usable;
        Ok(())
    }
}

fn jwks_error(error: reqwest::Error) -> Denied {
    Denied::KeysUnavailable(error.to_string())
}

//! The signing keys gatehouse gives the Hydra it runs, at first start.
//!
//! Hydra makes an RSA-4096 key on first use, and signing an id_token with
//! it was about a quarter of Hydra's CPU per sign-in (gatehouse-bench,
//! issue 25). Gatehouse puts the key `hydra.tuning.signing_key` names into
//! each of Hydra's signing key sets that is still empty; a set that has
//! keys keeps them, so upgrading changes no key that clients already
//! trust. Hydra signs with the newest key of a set and publishes every
//! key's public half at `/.well-known/jwks.json`.

use rsa::rand_core::OsRng;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::BigUint;
use serde_json::{json, Value};

use super::{HydraClient, HydraError};
use crate::config::SigningKey;
use crate::infra::random;

/// Hydra's key set for id_tokens.
pub const ID_TOKEN_SET: &str = "hydra.openid.id-token";
/// Hydra's key set for JWT access tokens.
pub const ACCESS_TOKEN_SET: &str = "hydra.jwt.access-token";

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("cannot create the {kind} signing key: {reason}")]
    Generate { kind: &'static str, reason: String },
    #[error("cannot give Hydra its signing key for {set}: {source}")]
    Hydra {
        set: &'static str,
        source: HydraError,
    },
}

/// Fills each empty signing key set of Hydra's with a new key of `kind`;
/// returns the sets it filled. Both sets, whatever the access-token
/// strategy: Hydra publishes both at `/.well-known/jwks.json` and would
/// make an RSA-4096 key for an empty one on the first request there.
pub async fn ensure(
    client: &HydraClient,
    kind: SigningKey,
) -> Result<Vec<&'static str>, SigningKeyError> {
    if kind == SigningKey::Hydra {
        return Ok(Vec::new());
    }
    let mut filled = Vec::new();
    for set in [ID_TOKEN_SET, ACCESS_TOKEN_SET] {
        let keys = client
            .key_set(set)
            .await
            .map_err(|source| SigningKeyError::Hydra { set, source })?;
        if !keys.is_empty() {
            continue;
        }
        let key = generate_off_thread(kind).await?;
        client
            .put_key_set(set, &[key])
            .await
            .map_err(|source| SigningKeyError::Hydra { set, source })?;
        tracing::info!(set, key = kind.as_str(), "gave Hydra a new signing key");
        filled.push(set);
    }
    Ok(filled)
}

/// What `gatehouse keys list` shows of a key: never its private parts.
pub fn describe(key: &Value) -> String {
    let text = |name: &str| key[name].as_str().unwrap_or("?").to_string();
    let size = match key["kty"].as_str() {
        Some("RSA") => {
            use base64::Engine;
            let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text("n"))
                .unwrap_or_default();
            format!("RSA-{}", n.len() * 8)
        }
        Some("EC") => format!("EC {}", text("crv")),
        _ => text("kty"),
    };
    format!("{} {} {size}", text("kid"), text("alg"))
}

/// [`generate`] on a blocking thread: an RSA key takes a CPU for up to a
/// second (finding its primes), which must not stall the async runtime.
pub async fn generate_off_thread(kind: SigningKey) -> Result<Value, SigningKeyError> {
    tokio::task::spawn_blocking(move || generate(kind))
        .await
        .map_err(|e| SigningKeyError::Generate {
            kind: kind.as_str(),
            reason: e.to_string(),
        })?
}

/// A new private JWK (RFC 7517/7518) of `kind`, with a random `kid`.
pub fn generate(kind: SigningKey) -> Result<Value, SigningKeyError> {
    let bits = match kind {
        SigningKey::Rsa2048 => 2048,
        SigningKey::Rsa3072 => 3072,
        SigningKey::Rsa4096 => 4096,
        SigningKey::Es256 => return Ok(es256()),
        SigningKey::Hydra => {
            return Err(SigningKeyError::Generate {
                kind: kind.as_str(),
                reason: "Hydra makes this one itself".into(),
            })
        }
    };
    let mut key =
        rsa::RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| SigningKeyError::Generate {
            kind: kind.as_str(),
            reason: e.to_string(),
        })?;
    key.precompute().map_err(|e| SigningKeyError::Generate {
        kind: kind.as_str(),
        reason: e.to_string(),
    })?;
    let [p, q] = [&key.primes()[0], &key.primes()[1]];
    let missing = || SigningKeyError::Generate {
        kind: kind.as_str(),
        reason: "the CRT values were not computed".into(),
    };
    let qi = key.crt_coefficient().ok_or_else(missing)?;
    let (dp, dq) = (key.dp().ok_or_else(missing)?, key.dq().ok_or_else(missing)?);
    Ok(json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": new_kid(),
        "n": b64(key.n()), "e": b64(key.e()), "d": b64(key.d()),
        "p": b64(p), "q": b64(q), "dp": b64(dp), "dq": b64(dq), "qi": b64(&qi),
    }))
}

fn es256() -> Value {
    let secret = p256::SecretKey::random(&mut OsRng);
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let coordinate = |c: Option<&p256::FieldBytes>| c.map(|b| base64url(b)).unwrap_or_default();
    json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": new_kid(),
        "x": coordinate(point.x()), "y": coordinate(point.y()),
        "d": base64url(&secret.to_bytes()),
    })
}

fn new_kid() -> String {
    random::random_hex(16)
}

fn b64(number: &BigUint) -> String {
    base64url(&number.to_bytes_be())
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use rsa::traits::PublicKeyParts;

    use super::*;

    fn number(jwk: &Value, name: &str) -> BigUint {
        let text = jwk[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {jwk}"));
        BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(text).unwrap())
    }

    #[test]
    fn an_rsa_key_is_a_whole_private_jwk_of_its_size() {
        for (kind, bits) in [(SigningKey::Rsa2048, 2048), (SigningKey::Rsa3072, 3072)] {
            let jwk = generate(kind).unwrap();
            assert_eq!(
                (jwk["kty"].as_str(), jwk["alg"].as_str()),
                (Some("RSA"), Some("RS256"))
            );
            assert_eq!(jwk["kid"].as_str().unwrap().len(), 32);
            // The parts make one consistent key (checked by the rsa crate),
            // and it signs what its public half verifies.
            let key = rsa::RsaPrivateKey::from_components(
                number(&jwk, "n"),
                number(&jwk, "e"),
                number(&jwk, "d"),
                vec![number(&jwk, "p"), number(&jwk, "q")],
            )
            .unwrap();
            key.validate().unwrap();
            assert_eq!(key.n().bits(), bits);
            assert_eq!(number(&jwk, "e"), BigUint::from(65_537u32));
            let dp = number(&jwk, "d") % (number(&jwk, "p") - 1u32);
            assert_eq!(dp, number(&jwk, "dp"));
            let qi_q = (number(&jwk, "qi") * number(&jwk, "q")) % number(&jwk, "p");
            assert_eq!(qi_q, BigUint::from(1u32));
        }
        assert_ne!(
            generate(SigningKey::Rsa2048).unwrap()["n"],
            generate(SigningKey::Rsa2048).unwrap()["n"]
        );
    }

    #[test]
    fn an_es256_key_is_a_p256_private_jwk() {
        let jwk = generate(SigningKey::Es256).unwrap();
        assert_eq!(
            (jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("P-256"), Some("ES256"))
        );
        let d = URL_SAFE_NO_PAD.decode(jwk["d"].as_str().unwrap()).unwrap();
        let secret = p256::SecretKey::from_slice(&d).unwrap();
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        assert_eq!(
            jwk["x"].as_str().unwrap(),
            URL_SAFE_NO_PAD.encode(point.x().unwrap())
        );
        assert_eq!(
            jwk["y"].as_str().unwrap(),
            URL_SAFE_NO_PAD.encode(point.y().unwrap())
        );
        assert!(generate(SigningKey::Hydra).is_err());
    }
}

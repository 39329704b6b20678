//! Hydra's opaque access tokens carry their own signature:
//! `ory_at_<key>.<signature>`, the signature being HMAC-SHA512/256 of the
//! key's bytes under SHA-256 of Hydra's system secret (fosite's
//! `HMACStrategy`, Hydra's `HashStringSecret`). With the supervised Hydra's
//! secret at hand, a token Hydra cannot have issued is refused here, without
//! an introspection: a flood of made-up tokens costs a hash each, not a
//! round trip and a database read in Hydra. A token that passes is still
//! introspected (it may be expired or revoked).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512_256};

use crate::config::Secret;

type HmacSha512_256 = Hmac<Sha512_256>;

/// The keys Hydra signs its opaque tokens with.
#[derive(Clone)]
pub struct HydraTokenSignature {
    keys: Vec<[u8; 32]>,
}

impl HydraTokenSignature {
    /// From Hydra's `secrets.system` list: the first signs, every one is
    /// accepted (Hydra's rotation).
    pub fn new(system_secrets: &[Secret]) -> HydraTokenSignature {
        let keys = system_secrets
            .iter()
            .map(|secret| Sha256::digest(secret.expose().as_bytes()).into())
            .collect();
        HydraTokenSignature { keys }
    }

    /// Could Hydra have issued `token`? Checked in constant time.
    pub fn signed_by_hydra(&self, token: &str) -> bool {
        let Some((key, signature)) = token
            .strip_prefix("ory_at_")
            .and_then(|opaque| opaque.split_once('.'))
        else {
            return false;
        };
        let (Ok(key), Ok(signature)) = (
            URL_SAFE_NO_PAD.decode(key),
            URL_SAFE_NO_PAD.decode(signature),
        ) else {
            return false;
        };
        self.keys.iter().any(|secret| {
            let mut mac = HmacSha512_256::new_from_slice(secret).expect("any key length");
            mac.update(&key);
            mac.verify_slice(&signature).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token as fosite makes one, written out step by step.
    fn issued(system_secret: &str, key: &[u8]) -> String {
        let signing_key = Sha256::digest(system_secret.as_bytes());
        let mut mac = HmacSha512_256::new_from_slice(&signing_key).unwrap();
        mac.update(key);
        let signature = mac.finalize().into_bytes();
        format!(
            "ory_at_{}.{}",
            URL_SAFE_NO_PAD.encode(key),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn a_token_signed_with_the_system_secret_passes_and_nothing_else_does() {
        let secret = "a-system-secret-of-at-least-32-characters";
        let signature = HydraTokenSignature::new(&[Secret::new(secret)]);
        let token = issued(secret, &[7u8; 32]);
        assert!(signature.signed_by_hydra(&token));

        let other = issued("another-secret-of-at-least-32-characters", &[7u8; 32]);
        let (key, sig) = token.split_once('.').unwrap();
        let mut flipped = sig.as_bytes().to_vec();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = format!("{key}.{}", String::from_utf8(flipped).unwrap());
        let other_key = issued(secret, &[8u8; 32]);
        let swapped = format!("{}.{}", other_key.split_once('.').unwrap().0, sig);
        let truncated = &token[..token.len() - 2];
        for forged in [
            other.as_str(),
            &flipped,
            &swapped,
            truncated,
            &token.replacen("ory_at_", "ory_rt_", 1),
            &token.replacen("ory_at_", "", 1),
            "ory_at_.",
            "ory_at_Zm9v.YmFy",
            "ory_at_Zm9v=.YmFy",
        ] {
            assert!(!signature.signed_by_hydra(forged), "{forged}");
        }
    }

    #[test]
    fn every_rotated_secret_is_accepted() {
        let (new, old) = (
            "the-new-system-secret-of-32-characters",
            "the-old-system-secret-of-32-characters",
        );
        let signature = HydraTokenSignature::new(&[Secret::new(new), Secret::new(old)]);
        assert!(signature.signed_by_hydra(&issued(new, b"k1")));
        assert!(signature.signed_by_hydra(&issued(old, b"k2")));
        let none = HydraTokenSignature::new(&[]);
        assert!(!none.signed_by_hydra(&issued(new, b"k1")));
    }
}

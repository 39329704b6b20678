//! A queued message holds its code until the gateway takes it, so the
//! outbox keeps it sealed (ChaCha20-Poly1305, ring): codes are otherwise
//! stored only as keyed hashes, and a copied database must not give them
//! away. The key is derived from the server secret, for this use only.
//! Authenticator apps' shared secrets are sealed the same way, under a key
//! of their own ([`SealingKey::derive_for`]).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::Sha256;

use crate::infra::random::fill_random;

/// What the outbox keeps of one text message.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct QueuedMessage {
    /// E.164.
    pub phone: String,
    pub code: String,
    /// The rendered template.
    pub text: String,
}

#[derive(Clone)]
pub(in crate::signin) struct SealingKey(Arc<LessSafeKey>);

impl SealingKey {
    /// The outbox's key.
    pub fn derive(server_key: &[u8]) -> SealingKey {
        SealingKey::derive_for(server_key, b"gatehouse sms outbox v1")
    }

    /// A key for `purpose` alone: what one use seals, another's key does
    /// not open.
    pub fn derive_for(server_key: &[u8], purpose: &[u8]) -> SealingKey {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC accepts keys of any length");
        mac.update(purpose);
        let key = mac.finalize().into_bytes();
        let key = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("a 32-byte key");
        SealingKey(Arc::new(LessSafeKey::new(key)))
    }

    /// nonce || ciphertext || tag, bound to `challenge_id`: a sealed message
    /// moved to another row does not open.
    pub(super) fn seal(&self, challenge_id: &str, message: &QueuedMessage) -> Vec<u8> {
        let plain = serde_json::to_vec(message).expect("a message serializes");
        self.seal_bytes(challenge_id, &plain)
    }

    /// None when `sealed` was not made by this key for `challenge_id` (the
    /// server secret changed, or the row was tampered with).
    pub(super) fn open(&self, challenge_id: &str, sealed: &[u8]) -> Option<QueuedMessage> {
        serde_json::from_slice(&self.open_bytes(challenge_id, sealed)?).ok()
    }

    /// nonce || ciphertext || tag of `plain`, bound to `row`.
    pub fn seal_bytes(&self, row: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut sealed = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(row.as_bytes()),
                &mut sealed,
            )
            .expect("a short message seals");
        [nonce.as_slice(), &sealed].concat()
    }

    /// What [`SealingKey::seal_bytes`] sealed for `row`, or None.
    pub fn open_bytes(&self, row: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(row.as_bytes()), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> QueuedMessage {
        QueuedMessage {
            phone: "+12015550123".into(),
            code: "123456".into(),
            text: "Your code is 123456".into(),
        }
    }

    #[test]
    fn sealed_messages_open_only_with_their_key_and_row() {
        let key = SealingKey::derive(b"server secret");
        let sealed = key.seal("challenge-a", &message());
        assert_eq!(key.open("challenge-a", &sealed), Some(message()));
        assert!(
            !sealed.windows(6).any(|w| w == b"123456"),
            "the code is not in the clear"
        );
        assert_eq!(key.open("challenge-b", &sealed), None, "another row");
        let other = SealingKey::derive(b"another server secret");
        assert_eq!(other.open("challenge-a", &sealed), None, "another key");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("challenge-a", &flipped), None, "tampered");
        assert_eq!(key.open("challenge-a", &sealed[..5]), None, "truncated");
        assert_ne!(
            key.seal("challenge-a", &message()),
            sealed,
            "a fresh nonce each time"
        );
    }
}

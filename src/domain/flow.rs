//! `FlowId`: the sign-in flow a code belongs to. A code is issued to one
//! flow and checked only in it: another person's flow can neither use it,
//! burn it with wrong tries, nor replace it.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowId(String);

impl FlowId {
    /// A browser sign-in: Hydra's login challenge (hashed: challenges are
    /// long, and the id is stored).
    pub fn browser(login_challenge: &str) -> FlowId {
        FlowId(format!(
            "browser:{}",
            hex::encode(Sha256::digest(login_challenge.as_bytes()))
        ))
    }

    /// A headless sign-in: the SHA-256 of its session id, as stored.
    pub fn headless(session_id_hash: &[u8]) -> FlowId {
        FlowId(format!("headless:{}", hex::encode(session_id_hash)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_of_either_kind_never_collide() {
        let hash = Sha256::digest(b"same").to_vec();
        assert_ne!(FlowId::browser("same"), FlowId::headless(&hash));
        assert_ne!(FlowId::browser("a"), FlowId::browser("b"));
        assert_eq!(FlowId::browser("a"), FlowId::browser("a"));
        assert!(FlowId::browser(&"x".repeat(10_000)).as_str().len() < 80);
    }
}

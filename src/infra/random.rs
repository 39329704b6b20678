//! Unguessable identifiers (sessions, PKCE verifiers, OAuth2 state and
//! nonce, CSRF secrets), from the OS CSPRNG.

use rand::{RngCore, TryRngCore};

/// `bytes` random bytes from the OS CSPRNG, as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    fill_random(&mut buffer);
    hex::encode(buffer)
}

/// Fills `buffer` from the OS CSPRNG (keys, nonces).
pub fn fill_random(buffer: &mut [u8]) {
    rand::rngs::OsRng.unwrap_err().fill_bytes(buffer);
}

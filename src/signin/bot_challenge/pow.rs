//! The proof of work: a puzzle gatehouse signs and checks itself, with no
//! third party and no state until it is used.
//!
//! A challenge is `{expires_at}.{difficulty}.{salt}.{mac}`: unix seconds,
//! bits, 16 random bytes, and the first 16 bytes of HMAC-SHA256 over the
//! three before it under a key derived from the server secret, all in
//! decimal or lowercase hex. A solution is `{challenge}:{nonce}`, the nonce
//! 1 to 32 letters or digits, whose SHA-256 begins with `difficulty` zero
//! bits: about 2^difficulty hashes to find, one to check. The browser's
//! solver is `web/assets/pow.js`; [`solve`] is the same in Rust.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::infra::random::random_hex;

const SALT_BYTES: usize = 16;
const MAC_BYTES: usize = 16;
const MAX_NONCE_LEN: usize = 32;
/// No real solution is longer: nothing longer is hashed.
const MAX_SOLUTION_LEN: usize = 160;

/// The key challenges are signed with.
#[derive(Clone)]
pub struct PowKey([u8; 32]);

/// A challenge as a page or an app gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowChallenge {
    pub challenge: String,
    pub difficulty: u8,
    /// Unix seconds; a solution sent later is refused.
    pub expires_at: i64,
    pub expires_in: Duration,
}

/// A right solution: what the replay memory keeps of its challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solved {
    pub salt: String,
    pub expires_at: i64,
}

/// Why a solution is not right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowFailure {
    /// Not gatehouse's challenge, easier than asked, or not solved.
    Invalid,
    /// Right, but its challenge expired.
    Expired,
}

impl PowKey {
    /// The key for challenges, derived from the server secret for this use
    /// only.
    pub fn derive(server_key: &[u8]) -> PowKey {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC accepts keys of any length");
        mac.update(b"gatehouse bot challenge v1");
        PowKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("a 32-byte key");
        mac.update(body.as_bytes());
        mac
    }

    /// A new challenge of `difficulty` bits, good for `ttl` from `now`.
    pub fn issue(&self, now: i64, ttl: Duration, difficulty: u8) -> PowChallenge {
        let expires_at = now + ttl.as_secs() as i64;
        let body = format!("{expires_at}.{difficulty}.{}", random_hex(SALT_BYTES));
        let tag = self.mac(&body).finalize().into_bytes();
        PowChallenge {
            challenge: format!("{body}.{}", hex::encode(&tag[..MAC_BYTES])),
            difficulty,
            expires_at,
            expires_in: ttl,
        }
    }

    /// Checks `solution` at `now`: a challenge of this key, of at least
    /// `min_difficulty` bits, not expired, solved. Needs no state; whether
    /// it was used before is the replay memory's to say.
    pub fn check(
        &self,
        solution: &str,
        now: i64,
        min_difficulty: u8,
    ) -> Result<Solved, PowFailure> {
        let parts = Parts::read(solution).ok_or(PowFailure::Invalid)?;
        let tag = hex::decode(parts.mac).map_err(|_| PowFailure::Invalid)?;
        self.mac(parts.body)
            .verify_truncated_left(&tag)
            .map_err(|_| PowFailure::Invalid)?;
        if parts.expires_at <= now {
            return Err(PowFailure::Expired);
        }
        if parts.difficulty < min_difficulty || !meets(solution, parts.difficulty) {
            return Err(PowFailure::Invalid);
        }
        Ok(Solved {
            salt: parts.salt.to_string(),
            expires_at: parts.expires_at,
        })
    }
}

/// The pieces of a solution, when it has the shape of one.
struct Parts<'a> {
    /// `{expires_at}.{difficulty}.{salt}`: what the MAC covers.
    body: &'a str,
    expires_at: i64,
    difficulty: u8,
    salt: &'a str,
    mac: &'a str,
}

impl<'a> Parts<'a> {
    fn read(solution: &'a str) -> Option<Parts<'a>> {
        if solution.len() > MAX_SOLUTION_LEN {
            return None;
        }
        let (challenge, nonce) = solution.rsplit_once(':')?;
        let nonce_ok = (1..=MAX_NONCE_LEN).contains(&nonce.len())
            && nonce.bytes().all(|b| b.is_ascii_alphanumeric());
        let (body, mac) = challenge.rsplit_once('.')?;
        let mut fields = body.split('.');
        let (expires_at, difficulty, salt) = (fields.next()?, fields.next()?, fields.next()?);
        let hex = |s: &str, bytes: usize| {
            s.len() == 2 * bytes
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
        if !nonce_ok || fields.next().is_some() || !digits(expires_at) || !digits(difficulty) {
            return None;
        }
        if !hex(salt, SALT_BYTES) || !hex(mac, MAC_BYTES) {
            return None;
        }
        Some(Parts {
            body,
            expires_at: expires_at.parse().ok()?,
            difficulty: difficulty.parse().ok()?,
            salt,
            mac,
        })
    }
}

/// Does SHA-256 of `solution` begin with `difficulty` zero bits?
pub fn meets(solution: &str, difficulty: u8) -> bool {
    leading_zero_bits(&Sha256::digest(solution.as_bytes())) >= u32::from(difficulty)
}

/// The zero bits `hash` begins with.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut zeros = 0;
    for byte in hash {
        zeros += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    zeros
}

/// Solves `challenge` as the browser does (nonces 0, 1, 2 ... in decimal):
/// for the tests and the benchmark, and as the reference for apps.
pub fn solve(challenge: &str, difficulty: u8) -> String {
    let prefix = Sha256::new_with_prefix(format!("{challenge}:"));
    let nonce = (0u64..)
        .find(|nonce| {
            let hash = prefix.clone().chain_update(nonce.to_string()).finalize();
            leading_zero_bits(&hash) >= u32::from(difficulty)
        })
        .expect("some nonce solves it");
    format!("{challenge}:{nonce}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const TTL: Duration = Duration::from_secs(600);

    fn key() -> PowKey {
        PowKey::derive(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_solved_challenge_is_right_until_it_expires() {
        let issued = key().issue(NOW, TTL, 8);
        assert_eq!(issued.expires_at, NOW + 600);
        let solution = solve(&issued.challenge, 8);
        let solved = key().check(&solution, NOW + 599, 8).unwrap();
        assert_eq!(solved.expires_at, NOW + 600);
        assert_eq!(solved.salt.len(), 32);
        assert!(issued.challenge.contains(&solved.salt));
        assert_eq!(
            key().check(&solution, NOW + 600, 8),
            Err(PowFailure::Expired)
        );
        // Another key's challenge, or one easier than asked, is not right.
        let other = PowKey::derive(b"another server secret, 32 bytes!");
        assert_eq!(other.check(&solution, NOW, 8), Err(PowFailure::Invalid));
        assert_eq!(key().check(&solution, NOW, 9), Err(PowFailure::Invalid));
    }

    #[test]
    fn an_unsolved_or_altered_solution_is_refused() {
        let issued = key().issue(NOW, TTL, 12);
        let solution = solve(&issued.challenge, 12);
        let wrong = (0..)
            .map(|n| format!("{}:{n}", issued.challenge))
            .find(|s| !meets(s, 12))
            .unwrap();
        assert_eq!(key().check(&wrong, NOW, 12), Err(PowFailure::Invalid));
        // Easier difficulty or a later expiry written in: the MAC no longer fits.
        let easier = solution.replacen(".12.", ".1.", 1);
        let later = solution.replacen(&format!("{}", NOW + 600), &format!("{}", NOW + 9999), 1);
        for altered in [easier, later] {
            assert_eq!(key().check(&altered, NOW, 1), Err(PowFailure::Invalid));
        }
        for malformed in [
            "",
            "x",
            "1.2.3.4:5",
            &issued.challenge,
            &format!("{}:", issued.challenge),
            &format!("{}:12 3", issued.challenge),
            &format!("{}:{}", issued.challenge, "1".repeat(40)),
            &format!("{}.00:7", issued.challenge),
        ] {
            assert_eq!(
                key().check(malformed, NOW, 1),
                Err(PowFailure::Invalid),
                "{malformed}"
            );
        }
    }

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x0f, 0]), 4);
        assert_eq!(leading_zero_bits(&[0, 0, 0x01]), 23);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}

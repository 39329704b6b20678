//! The code itself: made from the OS CSPRNG, stored only as a keyed hash,
//! and checked (in constant time) and used up on the store's thread.

use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::{Rng, TryRngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Limit, OtpError};
use crate::config::MAX_FAILURES_PER_HOUR;
use crate::domain::{FlowId, OtpCode, PhoneNumber};
use crate::store::codes;
use crate::store::{Db, StoreError};

/// Checks `code` against `flow`'s current code for `phone` and, when it is
/// right, uses it up: all on the store's thread, in the one trip that also
/// resolves the user. Wrong tries count against the code and, across flows,
/// against the phone.
pub(super) fn use_code(
    conn: &Db,
    flow: &FlowId,
    phone: &PhoneNumber,
    code: &OtpCode,
    key: &[u8],
    now: i64,
) -> Result<Result<(), OtpError>, StoreError> {
    let challenge = match live_challenge(conn, flow, phone, now)? {
        Ok(challenge) => challenge,
        Err(refused) => return Ok(Err(refused)),
    };
    if challenge.attempts >= challenge.max_attempts {
        return Ok(Err(OtpError::TooManyAttempts));
    }
    let expected = hash_code(key, &challenge.id, code);
    let matches: bool = expected.ct_eq(challenge.code_hash.as_slice()).into();
    if !matches {
        codes::record_failure(conn, phone.as_str(), now)?;
        return Ok(Err(
            match codes::record_wrong_attempt(conn, &challenge.id)? {
                Some(used) if used < challenge.max_attempts => OtpError::WrongCode {
                    attempts_left: challenge.max_attempts - used,
                },
                _ => OtpError::TooManyAttempts,
            },
        ));
    }
    // Right code: whoever consumes it first wins; everyone else
    // finds it used, exactly as if they were a moment late.
    if !codes::consume(conn, &challenge.id, now)? {
        return Ok(Err(OtpError::Expired));
    }
    Ok(Ok(()))
}

/// `flow`'s live code for `phone`, when the phone may try one: not past
/// its failures for the hour, the flow's own code (a phone typed into
/// another flow finds none and costs nobody a try), neither used nor expired.
pub(super) fn live_challenge(
    conn: &Db,
    flow: &FlowId,
    phone: &PhoneNumber,
    now: i64,
) -> Result<Result<codes::Challenge, OtpError>, StoreError> {
    if let Some(retry_after) =
        codes::failures_exceeded(conn, phone.as_str(), MAX_FAILURES_PER_HOUR, 3600, now)?
    {
        return Ok(Err(OtpError::Throttled {
            limit: Limit::FailuresPerHour,
            retry_after: Duration::from_secs(retry_after.max(1) as u64),
        }));
    }
    let Some(challenge) = codes::current_challenge(conn, flow.as_str(), phone.as_str())? else {
        return Ok(Err(OtpError::Expired));
    };
    if challenge.consumed || challenge.expires_at <= now {
        return Ok(Err(OtpError::Expired));
    }
    Ok(Ok(challenge))
}

/// `length` uniformly random digits from the OS CSPRNG.
pub(super) fn generate_code(length: u8) -> OtpCode {
    let upper = 10u64.pow(u32::from(length));
    let value = rand::rngs::OsRng.unwrap_err().random_range(0..upper);
    OtpCode::from_generated(format!("{value:0width$}", width = usize::from(length)))
}

/// HMAC-SHA256(server key, challenge id ":" code): a stolen database alone
/// does not give the codes away, and equal codes hash differently.
pub(super) fn hash_code(key: &[u8], challenge_id: &str, code: &OtpCode) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(challenge_id.as_bytes());
    mac.update(b":");
    mac.update(code.digits().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_configured_length() {
        for length in [4u8, 6, 8, 10] {
            let code = generate_code(length);
            assert_eq!(code.digits().len(), usize::from(length));
            assert!(code.digits().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn codes_are_not_constant() {
        let codes: std::collections::HashSet<String> = (0..50)
            .map(|_| generate_code(6).digits().to_string())
            .collect();
        assert!(
            codes.len() > 40,
            "50 codes gave only {} distinct values",
            codes.len()
        );
    }

    #[test]
    fn hash_depends_on_key_challenge_and_code() {
        let code = OtpCode::parse("123456", 6).unwrap();
        let other = OtpCode::parse("123457", 6).unwrap();
        let base = hash_code(b"k1", "c1", &code);
        assert_ne!(base, hash_code(b"k2", "c1", &code));
        assert_ne!(base, hash_code(b"k1", "c2", &code));
        assert_ne!(base, hash_code(b"k1", "c1", &other));
        assert_eq!(base, hash_code(b"k1", "c1", &code));
    }
}

//! The one place a sign-in error becomes an audit event's result and
//! reason: a word from a fixed set, never the error's text (which may
//! quote what the person typed).

use crate::domain::Outcome;
use crate::signin::error::SignInError;

/// `refused` when the person, a limit or a policy said no; `error` when
/// something gatehouse depends on failed.
pub(super) fn of(error: &SignInError) -> (Outcome, &'static str) {
    use SignInError as E;
    let refused = |reason| (Outcome::Refused, reason);
    match error {
        E::InvalidPhone(_) => refused("invalid_phone"),
        E::MalformedCode(_) => refused("malformed_code"),
        E::WrongCode { .. } => refused("wrong_code"),
        E::CodeDead => refused("too_many_attempts"),
        E::CodeExpired => refused("code_expired"),
        E::Throttled { limit, .. } | E::SendingRefused(limit) => refused(limit.label()),
        E::CountryNotServed => refused("country_not_served"),
        E::NumberTypeNotServed => refused("number_type_not_served"),
        E::AccountDisabled => refused("account_disabled"),
        E::PasskeyRequired => refused("passkey_required"),
        // Which check failed is in the log and metrics, not the trail.
        E::BotChallenge(_) => refused("bot_challenge"),
        E::UnauthorizedClient => refused("unauthorized_client"),
        E::InvalidScope(_) => refused("invalid_scope"),
        E::InvalidSession => refused("invalid_session"),
        E::ExchangeNotEnabled => refused("exchange_not_enabled"),
        E::ExchangeNotAllowed => refused("exchange_not_allowed"),
        E::InvalidToken => refused("invalid_token"),
        E::VerifierUnavailable(_) => (Outcome::Error, "verifier_unavailable"),
        E::HydraAdmin(_) | E::HydraPublic(_) | E::Inconsistent(_) => (Outcome::Error, "hydra"),
        E::Directory(_) => (Outcome::Error, "directory_unavailable"),
        E::CodeDelegate(_) => (Outcome::Error, "code_delegate_unavailable"),
        E::Store(_) => (Outcome::Error, "database"),
        E::Passkey(error) => passkey(error),
    }
}

fn passkey(error: &crate::signin::methods::passkey::PasskeyError) -> (Outcome, &'static str) {
    use crate::signin::methods::passkey::PasskeyError as P;
    match error {
        P::Expired => (Outcome::Refused, "passkey_expired"),
        P::Refused(_) => (Outcome::Refused, "passkey_refused"),
        P::Disabled => (Outcome::Refused, "account_disabled"),
        P::Directory(_) => (Outcome::Error, "directory_unavailable"),
        P::Store(_) => (Outcome::Error, "database"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::otp::Limit;
    use std::time::Duration;

    #[test]
    fn reasons_are_words_not_messages() {
        let throttled = SignInError::Throttled {
            limit: Limit::ResendCooldown,
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(of(&throttled), (Outcome::Refused, "resend_cooldown"));
        let wrong = SignInError::WrongCode { attempts_left: 2 };
        assert_eq!(of(&wrong), (Outcome::Refused, "wrong_code"));
        let scope = SignInError::InvalidScope("<script>".into());
        assert_eq!(of(&scope), (Outcome::Refused, "invalid_scope"));
    }
}

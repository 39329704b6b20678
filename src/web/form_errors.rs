//! The one place a sign-in error the person can act on becomes words on
//! the login form, with the page's status.

use axum::http::StatusCode;

use super::strings;
use crate::domain::PhoneNumber;
use crate::i18n::t;
use crate::signin::error::SignInError;
use crate::signin::otp::Limit;

/// The words and status for `error`; None for errors that end the flow
/// (they become an error page).
pub(super) fn form_error(error: &SignInError, phone: &PhoneNumber) -> Option<(String, StatusCode)> {
    Some(match error {
        SignInError::InvalidPhone(e) => (strings::phone_error(e), StatusCode::BAD_REQUEST),
        SignInError::MalformedCode(e) => (strings::code_error(e), StatusCode::BAD_REQUEST),
        SignInError::WrongCode { attempts_left } => {
            (strings::wrong_code(*attempts_left), StatusCode::BAD_REQUEST)
        }
        SignInError::CodeDead => (t!("wrong-code-dead"), StatusCode::TOO_MANY_REQUESTS),
        SignInError::CodeExpired => (t!("code-expired"), StatusCode::BAD_REQUEST),
        SignInError::AccountDisabled => (t!("account-disabled"), StatusCode::FORBIDDEN),
        SignInError::PasskeyRequired => (t!("passkey-only"), StatusCode::FORBIDDEN),
        // One answer whichever check failed: the log says which.
        SignInError::BotChallenge(_) => (t!("bot-check-failed"), StatusCode::FORBIDDEN),
        SignInError::CountryNotServed => (t!("country-not-served"), StatusCode::BAD_REQUEST),
        SignInError::NumberTypeNotServed => (t!("number-type-not-served"), StatusCode::BAD_REQUEST),
        SignInError::SendingRefused(_) => (t!("sending-refused"), StatusCode::TOO_MANY_REQUESTS),
        SignInError::Throttled {
            limit: Limit::FailuresPerHour,
            retry_after,
        } => (
            strings::too_many_failures(*retry_after),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        SignInError::Throttled { retry_after, .. } => (
            strings::too_many_codes(*retry_after),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        // Nothing was sent or used up: the same code works once it is back.
        SignInError::Directory(error) => {
            tracing::error!(%error, phone = %phone.masked(), "the user directory failed");
            (t!("directory-down"), StatusCode::SERVICE_UNAVAILABLE)
        }
        // Nothing was counted: the person may simply try again.
        SignInError::CodeDelegate(error) => {
            tracing::error!(%error, phone = %phone.masked(), "the code delegate failed");
            (t!("code-service-down"), StatusCode::SERVICE_UNAVAILABLE)
        }
        _ => return None,
    })
}

//! The one place a sign-in error the person can act on becomes words on
//! the login form, with the page's status.

use axum::http::StatusCode;

use super::strings;
use crate::domain::PhoneNumber;
use crate::signin::error::SignInError;
use crate::signin::otp::Limit;

/// The words and status for `error`; None for errors that end the flow
/// (they become an error page).
pub(super) fn form_error(error: &SignInError, phone: &PhoneNumber) -> Option<(String, StatusCode)> {
    Some(match error {
        SignInError::InvalidPhone(e) => (e.to_string(), StatusCode::BAD_REQUEST),
        SignInError::MalformedCode(e) => (e.to_string(), StatusCode::BAD_REQUEST),
        SignInError::WrongCode { attempts_left } => {
            (strings::wrong_code(*attempts_left), StatusCode::BAD_REQUEST)
        }
        SignInError::CodeDead => (
            strings::WRONG_CODE_DEAD.into(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        SignInError::CodeExpired => (strings::CODE_EXPIRED.into(), StatusCode::BAD_REQUEST),
        SignInError::AccountDisabled => (strings::ACCOUNT_DISABLED.into(), StatusCode::FORBIDDEN),
        SignInError::PasskeyRequired => (strings::PASSKEY_ONLY.into(), StatusCode::FORBIDDEN),
        // One answer whichever check failed: the log says which.
        SignInError::BotChallenge(_) => (strings::BOT_CHECK_FAILED.into(), StatusCode::FORBIDDEN),
        SignInError::CountryNotServed => {
            (strings::COUNTRY_NOT_SERVED.into(), StatusCode::BAD_REQUEST)
        }
        SignInError::NumberTypeNotServed => (
            strings::NUMBER_TYPE_NOT_SERVED.into(),
            StatusCode::BAD_REQUEST,
        ),
        SignInError::SendingRefused(_) => (
            strings::SENDING_REFUSED.into(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
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
            (
                strings::DIRECTORY_DOWN.into(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        // Nothing was counted: the person may simply try again.
        SignInError::CodeDelegate(error) => {
            tracing::error!(%error, phone = %phone.masked(), "the code delegate failed");
            (
                strings::CODE_SERVICE_DOWN.into(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        _ => return None,
    })
}

//! The texts of gatehouse's pages that take arguments or choose between
//! keys. The sentences themselves are in `locales/<lang>/gatehouse.ftl`
//! (English is the reference); a page asks for one with
//! `t!("key")` or `t!("key", name = value)` (`crate::i18n`).

use std::time::Duration;

use crate::domain::{OtpCodeError, PhoneNumberError};
use crate::i18n::t;

/// Why a typed number was refused, in the person's language (the
/// error's own `Display` is English, for logs and the API).
pub fn phone_error(error: &PhoneNumberError) -> String {
    match error {
        PhoneNumberError::Empty => t!("phone-empty"),
        PhoneNumberError::NotANumber => t!("phone-not-a-number"),
        PhoneNumberError::MissingCountryCode => t!("phone-needs-country"),
        PhoneNumberError::Invalid => t!("phone-invalid-for-country"),
    }
}

/// Why a typed code was refused, in the person's language.
pub fn code_error(error: &OtpCodeError) -> String {
    match error {
        OtpCodeError::Empty => t!("code-empty"),
        OtpCodeError::NotDigits => t!("code-not-digits"),
        OtpCodeError::WrongLength { expected } => t!("code-length", digits = *expected),
    }
}

pub fn sign_in_to(client: &str) -> String {
    t!("sign-in-to", client = client)
}

pub fn app_code_for(masked_phone: &str) -> String {
    t!("app-code-for", phone = masked_phone)
}

pub fn code_sent(masked_phone: &str) -> String {
    t!("code-sent", phone = masked_phone)
}

pub fn wrong_code(attempts_left: u32) -> String {
    t!("wrong-code", attempts = attempts_left)
}

pub fn resend_wait(wait: Duration) -> String {
    t!("resend-wait", wait = human_wait(wait))
}

pub fn too_many_codes(wait: Duration) -> String {
    t!("too-many-codes", wait = human_wait(wait))
}

pub fn too_many_failures(wait: Duration) -> String {
    t!("too-many-failures", wait = human_wait(wait))
}

pub fn time_left(left: Duration) -> String {
    if left.as_secs() < 60 {
        t!("time-almost-up")
    } else {
        t!("time-left", wait = human_wait(left))
    }
}

pub fn consent_title(client: &str) -> String {
    t!("consent-title", client = client)
}

pub fn consent_intro(client: &str) -> String {
    t!("consent-intro", client = client)
}

pub fn logout_from(client: &str) -> String {
    t!("logout-from", client = client)
}

/// Why a form's CSRF check can fail, one sentence each.
pub fn csrf_causes() -> [String; 3] {
    [
        t!("csrf-cause-other-tab"),
        t!("csrf-cause-cookies"),
        t!("csrf-cause-old-page"),
    ]
}

/// A scope in human words, and what it shares.
pub fn scope_description(scope: &str) -> (String, String) {
    let (title, shares) = match scope {
        "openid" => (t!("scope-openid"), t!("scope-openid-shares")),
        "profile" => (t!("scope-profile"), t!("scope-profile-shares")),
        "email" => (t!("scope-email"), t!("scope-email-shares")),
        "phone" => (t!("scope-phone"), t!("scope-phone-shares")),
        "address" => (t!("scope-address"), t!("scope-address-shares")),
        "offline_access" => (
            t!("scope-offline_access"),
            t!("scope-offline_access-shares"),
        ),
        other => (t!("scope-other", scope = other), t!("scope-other-shares")),
    };
    (title, shares)
}

/// "45 seconds", "3 minutes", "1 hour", in the request's language.
pub fn human_wait(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    if seconds < 90 {
        t!("wait-seconds", n = seconds)
    } else if seconds < 90 * 60 {
        t!("wait-minutes", n = seconds.div_ceil(60))
    } else {
        t!("wait-hours", n = seconds.div_ceil(3600))
    }
}

/// Hydra's error codes in plain words for the error page.
/// The error codes Hydra sends (RFC 6749 4.1.2.1 and 5.2, OpenID Connect
/// Core 3.1.2.6, and Hydra's own): only these are shown back to a person.
const OAUTH_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "request_forbidden",
    "invalid_state",
    "invalid_redirect_uri",
];

/// Is `code` one of the error codes Hydra sends?
pub fn is_oauth_error(code: &str) -> bool {
    OAUTH_ERRORS.contains(&code)
}

pub fn oauth_error(code: &str) -> String {
    match code {
        "access_denied" => t!("oauth-access-denied"),
        "login_required" => t!("oauth-login-required"),
        "consent_required" => t!("oauth-consent-required"),
        "invalid_client" | "unauthorized_client" => t!("oauth-client-misconfigured"),
        "invalid_request" | "invalid_scope" | "unsupported_response_type" => {
            t!("oauth-bad-request")
        }
        "request_forbidden" => t!("oauth-request-forbidden"),
        "temporarily_unavailable" | "server_error" => t!("hydra-down"),
        _ => t!("oauth-other"),
    }
}

pub fn texts_to(masked_phone: &str) -> String {
    t!("texts-to", phone = masked_phone)
}

pub fn added_on(day: &str) -> String {
    t!("added-on", day = day)
}

pub fn last_used(day: &str) -> String {
    t!("last-used", day = day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(human_wait(Duration::from_secs(1)), "1 second");
        assert_eq!(human_wait(Duration::from_secs(29)), "29 seconds");
        assert_eq!(human_wait(Duration::from_secs(3507)), "59 minutes");
        assert_eq!(human_wait(Duration::from_secs(3600 * 2)), "2 hours");
    }
}

//! Every sentence a person sees on gatehouse's pages, in one place so the
//! wording can be reviewed and translated without touching the handlers.

use std::time::Duration;

pub const SIGN_IN: &str = "Sign in";
pub const PHONE_LABEL: &str = "Phone number";
pub const PHONE_HELP: &str = "We will text you a code to sign in.";
pub const SEND_CODE: &str = "Send code";
pub const CODE_LABEL: &str = "Code from the text message";
pub const VERIFY: &str = "Sign in";
pub const RESEND: &str = "Send a new code";
pub const CHANGE_NUMBER: &str = "Use another number";
pub const REMEMBER_ME: &str = "Keep me signed in on this device";
pub const CANCEL: &str = "Cancel";
/// NIST SP 800-63B 5.2.10: SMS is a restricted authenticator; say why in
/// one sentence where people choose.
pub const RISK_NOTICE: &str = "A text message can be intercepted or redirected to another \
     phone; an authenticator app or a passkey stays on your own device, and a passkey cannot \
     be phished.";
pub const USE_APP: &str = "Use an authenticator app instead";
pub const SIGN_IN_WITH_PASSKEY: &str = "Sign in with a passkey";
pub const ADD_PASSKEY: &str = "Sign in faster next time with a passkey";
pub const APP_CODE_LABEL: &str = "Code from your authenticator app";
pub const TEXT_ME_INSTEAD: &str = "Text me a code instead";
pub const APP_CODES_DEAD: &str =
    "Too many wrong codes. For your security, start again or have a code sent by text.";
pub const APP_CODE_USED: &str =
    "This code was used already. Wait for the next code in your app and type that one.";

/// The client asked for a phishing-resistant sign-in (`acr_values`).
pub const PASSKEY_ONLY: &str = "This app asks you to sign in with a passkey: a text message or \
     an app code is not enough here.";
pub const PASSKEY_ONLY_HELP: &str = "If you have no passkey yet, sign in to another app first and \
     add one when we offer it, or add one on your account page.";
pub const PASSKEY_REQUIRED_TITLE: &str = "A passkey is needed";
pub const PASSKEY_REQUIRED: &str = "This app only accepts a sign-in with a passkey, and there is \
     no passkey for this account. Sign in to another app by text message first and add a \
     passkey when we offer it; then try again.";
pub const BACK_TO_APP_BUTTON: &str = "Back to the app";

pub const ACCOUNT_TITLE: &str = "Your sign-in methods";
pub const ACCOUNT_INTRO: &str = "The passkeys and authenticator apps you can sign in with. Name \
     them so you know which is which; remove one you no longer have.";
pub const ACCOUNT_NOT_SIGNED_IN: &str =
    "You did not sign in, so your sign-in methods are not shown.";
pub const ACCOUNT_SIGN_IN_EXPIRED: &str = "This sign-in has expired or was started in another \
     browser. Open the account page again.";
pub const NO_METHODS: &str = "You have no passkey or authenticator app yet: you sign in with a \
     code by text message.";
pub const KIND_APP: &str = "Authenticator app";
pub const KIND_APP_PENDING: &str = "Authenticator app (set-up not finished)";
pub const KIND_PASSKEY: &str = "Passkey";
pub const NEVER: &str = "never";
pub const METHOD_NAME_LABEL: &str = "Name";
pub const RENAME: &str = "Rename";
pub const REMOVE: &str = "Remove";
pub const METHOD_RENAMED: &str = "Renamed.";
pub const METHOD_REMOVED: &str = "Removed. It can no longer sign you in.";
pub const NO_SUCH_METHOD: &str = "There is no such sign-in method on your account.";
pub const LAST_WAY_IN: &str = "This is your last way to sign in, so it cannot be removed. Add \
     another passkey or app first.";
pub const BAD_METHOD_NAME: &str = "A name needs 1 to 60 characters.";

pub const OFFER_TITLE: &str = "Sign in more safely next time";
pub const SET_UP_APP: &str = "Set up an authenticator app";
pub const NOT_NOW: &str = "Not now";
pub const APP_TITLE: &str = "Add an authenticator app";
pub const APP_SCAN: &str = "Scan this code with your authenticator app (for example Google \
     Authenticator, Microsoft Authenticator, 1Password or Aegis), then type the 6-digit code it \
     shows.";
pub const APP_QR_ALT: &str = "QR code for your authenticator app";
pub const APP_SECRET_LABEL: &str = "Cannot scan? Type this key into the app instead:";
pub const APP_CONFIRM: &str = "Add the app";
pub const APP_ADDED_TITLE: &str = "Authenticator app added";
pub const APP_ADDED: &str = "Next time you sign in, you can type a code from the app instead \
     of waiting for a text message.";
pub const CONTINUE: &str = "Continue";
pub const OFFER_EXPIRED: &str = "This page has expired. Go back to the app: you are signed in.";

pub const WRONG_CODE_DEAD: &str =
    "Too many wrong codes. For your security this code no longer works: send a new code.";
pub const CODE_EXPIRED: &str = "This code has expired or was already used. Send a new code.";
pub const ACCOUNT_DISABLED: &str = "This account cannot sign in. Please contact support.";
pub const COUNTRY_NOT_SERVED: &str = "We cannot send codes to phone numbers in this country.";
pub const NUMBER_TYPE_NOT_SERVED: &str =
    "We cannot send codes to this kind of number. Please use a mobile number.";
/// Whichever `sms.policy` cap refused: nothing to tune on.
pub const SENDING_REFUSED: &str = "We cannot send a code right now. Please try again later.";
pub const DIRECTORY_DOWN: &str =
    "We cannot check your account right now. Nothing is lost: please try again in a minute.";
/// `otp.issuer`'s delegate could not send or check the code.
pub const CODE_SERVICE_DOWN: &str =
    "We cannot send or check codes right now. Nothing is lost: please try again in a minute.";
pub const BOT_CHECK_FAILED: &str = "We could not confirm that a person is asking for this code. \
     Complete the check below, then send the code again.";
pub const POW_WORKING: &str = "Your browser is doing a short check that a person is here.";
pub const POW_DONE: &str = "Check done.";
pub const NEEDS_JAVASCRIPT: &str = "Before a code is sent, this page checks that a person is \
     asking, and that needs JavaScript: turn it on for this site and reload the page.";
pub const SOMETHING_WRONG: &str = "Something went wrong on our side. Please try again.";

pub const CONSENT_TITLE: &str = "Allow access";
pub const CONSENT_ALLOW: &str = "Allow";
pub const CONSENT_DENY: &str = "Deny";
pub const CONSENT_REMEMBER: &str = "Remember my decision for this app";
pub const CONSENT_CHOOSE: &str = "Choose what to share";
pub const CONSENT_REQUIRED: &str = "(required)";
pub const NOT_SET: &str = "(not set)";

pub const LOGOUT_TITLE: &str = "Sign out";
pub const LOGOUT_YES: &str = "Yes, sign me out";
pub const LOGOUT_NO: &str = "No, stay signed in";
pub const LOGOUT_QUESTION: &str = "Do you want to sign out?";
pub const STILL_SIGNED_IN: &str = "You are still signed in. You can close this page.";
pub const LOGGED_OUT: &str = "You are signed out. You can close this page.";

pub const ERROR_TITLE: &str = "Something went wrong";
pub const START_AGAIN: &str = "Go back to the app and start again.";
pub const MISSING_CHALLENGE: &str =
    "This page must be opened from an app's sign-in button. Go back to the app and start again.";
pub const UNKNOWN_CHALLENGE: &str =
    "This sign-in link has expired or was already used. Go back to the app and start again.";
pub const FORM_EXPIRED: &str = "This form has expired, or it was opened in another browser or \
     with cookies blocked. Go back to the app and start again.";
pub const BAD_FORM: &str = "The form was not filled in the way we expected. Please try again.";
pub const HYDRA_DOWN: &str =
    "The sign-in service is not reachable right now. Please try again in a minute.";
pub const CSRF_CAUSES: &[&str] = &[
    "The sign-in was started in another tab or window, or in another browser.",
    "Your browser blocks cookies for this site: allow them and try again.",
    "The page was opened from an old bookmark or the back button.",
];
pub const TRY_AGAIN_BUTTON: &str = "Try again";
pub const ADDRESS_TOO_LONG: &str =
    "This address is too long to be a sign-in link. Go back to the app and start again.";
pub const SIGN_IN_PAUSED: &str =
    "We cannot save your sign-in right now. Nothing was sent or used up: please try again in a minute.";
pub const AUTHORIZATION_SERVER_DOWN: &str =
    "The sign-in service is restarting or not reachable right now. Please try again in a moment.";
pub const BACK_TO_APP: &str = "Return to the app instead";
pub const START_AGAIN_BUTTON: &str = "Start again";
pub const CHALLENGE_EXPIRED: &str =
    "This sign-in took too long and has expired. Nothing was lost: start again.";
pub const NOT_FOUND: &str = "There is no page at this address.";

pub fn sign_in_to(client: &str) -> String {
    format!("Sign in to {client}")
}

pub fn app_code_for(masked_phone: &str) -> String {
    format!("Signing in as {masked_phone}.")
}

pub fn code_sent(masked_phone: &str) -> String {
    format!("We sent a code to {masked_phone}. It is valid for a few minutes.")
}

pub fn wrong_code(attempts_left: u32) -> String {
    match attempts_left {
        1 => "That code is not right. You have 1 try left.".to_string(),
        n => format!("That code is not right. You have {n} tries left."),
    }
}

pub fn resend_wait(wait: Duration) -> String {
    format!(
        "A code was sent moments ago: please use it. You can ask for a new code in {}.",
        human_wait(wait)
    )
}

pub fn too_many_codes(wait: Duration) -> String {
    format!(
        "Too many codes were requested. Please try again in {}.",
        human_wait(wait)
    )
}

pub fn too_many_failures(wait: Duration) -> String {
    format!(
        "Too many wrong codes were entered for this number. Please try again in {}.",
        human_wait(wait)
    )
}

pub fn time_left(left: Duration) -> String {
    if left.as_secs() < 60 {
        "This sign-in page is about to expire: if the code does not work, go back to the app \
         and start again."
            .to_string()
    } else {
        format!(
            "Please finish within {}; after that this page expires.",
            human_wait(left)
        )
    }
}

pub fn consent_intro(client: &str) -> String {
    format!("{client} would like to:")
}

pub fn logout_from(client: &str) -> String {
    format!("Sign out of {client}")
}

/// A scope in human words, and what it shares.
pub fn scope_description(scope: &str) -> (String, &'static str) {
    let (title, shares) = match scope {
        "openid" => ("Know who you are", "Shares an identifier for your account"),
        "profile" => ("See your name", "Shares your name"),
        "email" => ("See your email address", "Shares your email address"),
        "phone" => ("See your phone number", "Shares your phone number"),
        "address" => ("See your postal address", "Shares your postal address"),
        "offline_access" => (
            "Stay signed in when you are not using it",
            "Keeps access until you sign out",
        ),
        other => {
            return (
                format!("Use the permission \u{201c}{other}\u{201d}"),
                "Gives the access the app asked for",
            )
        }
    };
    (title.to_string(), shares)
}

/// "45 seconds", "3 minutes", "1 hour".
pub fn human_wait(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    let (n, unit) = if seconds < 90 {
        (seconds, "second")
    } else if seconds < 90 * 60 {
        (seconds.div_ceil(60), "minute")
    } else {
        (seconds.div_ceil(3600), "hour")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
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

pub fn oauth_error(code: &str) -> &'static str {
    match code {
        "access_denied" => "Access was denied.",
        "login_required" => "You need to sign in first.",
        "consent_required" => "Your permission is needed first.",
        "invalid_client" | "unauthorized_client" => "The app is not set up correctly for sign-in.",
        "invalid_request" | "invalid_scope" | "unsupported_response_type" => {
            "The app sent a sign-in request we cannot handle."
        }
        "request_forbidden" => {
            "The sign-in could not be checked. This happens when it was started in another tab \
             or browser, or when cookies are blocked."
        }
        "temporarily_unavailable" | "server_error" => HYDRA_DOWN,
        _ => "The sign-in could not be completed.",
    }
}

pub fn texts_to(masked_phone: &str) -> String {
    format!("You can also sign in with a code texted to {masked_phone}.")
}

pub fn added_on(day: &str) -> String {
    format!("added {day}")
}

pub fn last_used(day: &str) -> String {
    format!("last used {day}")
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

//! The bot challenge on the login page: the proof-of-work script or the
//! provider's widget inside the form, the Content-Security-Policy that lets
//! it run, and reading the proof back from the form.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::views::CONTENT_SECURITY_POLICY;
use crate::config::CaptchaProvider;
use crate::i18n::t;
use crate::signin::bot_challenge::{Offer, Proof};

pub const POW_SCRIPT_PATH: &str = "/assets/pow.js";
const POW_SCRIPT: &str = include_str!("assets/pow.js");

/// The form field the proof-of-work script fills in.
pub const POW_FIELD: &str = "pow_solution";

/// Each provider's widget: its script, the element it renders into, and
/// the origins its script loads from.
struct Widget {
    script: &'static str,
    class: &'static str,
    /// For `script-src` and `frame-src` (hCaptcha also styles and calls them).
    origins: &'static str,
}

fn widget_of(provider: CaptchaProvider) -> Widget {
    match provider {
        CaptchaProvider::Turnstile => Widget {
            script: "https://challenges.cloudflare.com/turnstile/v0/api.js",
            class: "cf-turnstile",
            origins: "https://challenges.cloudflare.com",
        },
        CaptchaProvider::Hcaptcha => Widget {
            script: "https://js.hcaptcha.com/1/api.js",
            class: "h-captcha",
            origins: "https://hcaptcha.com https://*.hcaptcha.com",
        },
    }
}

/// The challenge, inside the form that sends the code.
pub fn widget(offer: &Offer) -> Markup {
    let no_script = html! { noscript { p.error { (t!("needs-javascript")) } } };
    match offer {
        Offer::ProofOfWork(challenge) => html! {
            input type="hidden" name=(POW_FIELD) value=""
                data-challenge=(challenge.challenge) data-difficulty=(challenge.difficulty);
            p.help #pow-status role="status" data-done=(t!("pow-done")) { (t!("pow-working")) }
            (no_script)
            script src=(POW_SCRIPT_PATH) defer {}
        },
        Offer::Captcha { provider, site_key } => {
            let widget = widget_of(*provider);
            html! {
                div class=(widget.class) data-sitekey=(site_key) {}
                (no_script)
                script src=(widget.script) async defer {}
            }
        }
    }
}

/// The pages' policy, widened for the challenge's script: gatehouse's own
/// for the proof of work; the provider's origins as its documentation
/// lists them (Turnstile: script and frame; hCaptcha: also style and connect).
pub fn content_security_policy(offer: &Offer) -> HeaderValue {
    let widened = match offer {
        Offer::ProofOfWork(_) => format!("{CONTENT_SECURITY_POLICY}; script-src 'self'"),
        Offer::Captcha { provider, .. } => {
            let origins = widget_of(*provider).origins;
            let mut policy =
                format!("{CONTENT_SECURITY_POLICY}; script-src {origins}; frame-src {origins}");
            if *provider == CaptchaProvider::Hcaptcha {
                policy = policy.replace("style-src 'self'", &format!("style-src 'self' {origins}"));
                policy.push_str(&format!("; connect-src {origins}"));
            }
            policy
        }
    };
    HeaderValue::from_str(&widened).expect("the policy is ASCII")
}

/// The proof a form carries: the script's solution, or the token the
/// widget put in (`cf-turnstile-response` or `h-captcha-response`).
pub fn proof(pow_solution: &str, turnstile: &str, hcaptcha: &str) -> Proof {
    let given = |value: &str| Some(value.to_string()).filter(|v| !v.trim().is_empty());
    Proof {
        pow_solution: given(pow_solution),
        captcha_token: given(turnstile).or_else(|| given(hcaptcha)),
    }
}

pub async fn pow_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        POW_SCRIPT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_challenge_widens_the_policy_only_for_its_script() {
        let widget = Offer::Captcha {
            provider: CaptchaProvider::Hcaptcha,
            site_key: "site".into(),
        };
        let policy = content_security_policy(&widget);
        let policy = policy.to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(
            policy.contains("style-src 'self' https://hcaptcha.com https://*.hcaptcha.com;"),
            "{policy}"
        );
        for directive in ["script-src", "frame-src", "connect-src"] {
            assert!(
                policy.contains(&format!(
                    "{directive} https://hcaptcha.com https://*.hcaptcha.com"
                )),
                "{policy}"
            );
        }
        assert!(!policy.contains("unsafe"), "{policy}");
    }
}

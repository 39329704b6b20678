//! CSRF protection for every form: a random per-browser secret in an
//! HttpOnly cookie, and in each form a token = HMAC(server key, secret ||
//! challenge). A forged form lacks the cookie; a replayed token does not fit
//! another challenge.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::infra::random::random_hex;

pub const COOKIE: &str = "gatehouse_csrf";
/// The cookie's name on https: with the `__Host-` prefix, browsers keep it
/// only when it is Secure, for `/` and without a Domain, so a sibling
/// subdomain cannot plant (toss) a secret of its choosing.
pub const HOST_COOKIE: &str = "__Host-gatehouse_csrf";
/// The form field holding the token.
pub const FIELD: &str = "csrf";

#[derive(Clone)]
pub struct Csrf {
    key: Arc<[u8]>,
    secure_cookie: bool,
}

/// The browser's secret, and the cookie to set when it had none.
pub struct BrowserSecret {
    value: String,
    pub set_cookie: Option<HeaderValue>,
}

impl Csrf {
    pub fn new(key: &[u8], secure_cookie: bool) -> Csrf {
        Csrf {
            key: key.into(),
            secure_cookie,
        }
    }

    /// The secret from the request's cookie, or a new one to set.
    pub fn browser_secret(&self, headers: &HeaderMap) -> BrowserSecret {
        if let Some(value) = cookie_secret(headers, self.cookie_name()) {
            return BrowserSecret {
                value,
                set_cookie: None,
            };
        }
        let value = random_hex(32);
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let name = self.cookie_name();
        let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}");
        BrowserSecret {
            value,
            set_cookie: HeaderValue::from_str(&cookie).ok(),
        }
    }

    /// The token to put in a form for `challenge`.
    pub fn token(&self, secret: &BrowserSecret, challenge: &str) -> String {
        hex::encode(self.mac(&secret.value, challenge))
    }

    /// Does `token` fit this browser's cookie and `challenge`?
    pub fn verify(&self, headers: &HeaderMap, challenge: &str, token: &str) -> bool {
        let Some(secret) = cookie_secret(headers, self.cookie_name()) else {
            return false;
        };
        let Ok(token) = hex::decode(token) else {
            return false;
        };
        self.mac(&secret, challenge).ct_eq(&token).into()
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            HOST_COOKIE
        } else {
            COOKIE
        }
    }

    fn mac(&self, secret: &str, challenge: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(secret.as_bytes());
        mac.update(b"\0");
        mac.update(challenge.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// Our cookie's value, if present and well-formed (64 hex characters).
fn cookie_secret(headers: &HeaderMap, cookie: &str) -> Option<String> {
    super::cookies::first(headers, cookie)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn a_token_fits_its_cookie_and_challenge_only() {
        let csrf = Csrf::new(b"key", true);
        let secret = csrf.browser_secret(&HeaderMap::new());
        let cookie = secret.set_cookie.clone().unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Secure")
        );
        assert!(cookie.starts_with("__Host-gatehouse_csrf="), "{cookie}");
        assert!(
            cookie.contains("Path=/") && !cookie.contains("Domain"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap();
        let headers = headers_with(&format!("other=1; {pair}"));
        // Without the prefix (a cookie a sibling subdomain could set), no.
        let unprefixed = pair.trim_start_matches("__Host-");
        assert!(!csrf.verify(
            &headers_with(unprefixed),
            "challenge-1",
            &csrf.token(&secret, "challenge-1")
        ));
        let token = csrf.token(&secret, "challenge-1");
        assert!(csrf.verify(&headers, "challenge-1", &token));
        assert!(!csrf.verify(&headers, "challenge-2", &token));
        assert!(!csrf.verify(&HeaderMap::new(), "challenge-1", &token));
        assert!(!csrf.verify(&headers, "challenge-1", "zz"));
        let other_browser = headers_with(&format!("{HOST_COOKIE}={}", "a".repeat(64)));
        assert!(!csrf.verify(&other_browser, "challenge-1", &token));
        assert!(!Csrf::new(b"other key", true).verify(&headers, "challenge-1", &token));
    }

    #[test]
    fn an_existing_cookie_is_reused() {
        let csrf = Csrf::new(b"key", false);
        let headers = headers_with(&format!("{COOKIE}={}", "b".repeat(64)));
        let secret = csrf.browser_secret(&headers);
        assert!(secret.set_cookie.is_none());
        let fresh = csrf.browser_secret(&HeaderMap::new());
        assert!(!fresh
            .set_cookie
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Secure"));
    }
}

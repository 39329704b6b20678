//! The HTTP side the flows share: a browser's hop with its cookies, a JSON
//! API call, and the bits of URLs and bodies that error messages and the
//! next step need.
//!
//! Cookies are kept in a cookie store (the one reqwest's own uses), one per
//! flow (a fresh browser each time), and applied by hand to requests of the client that
//! all flows share, so that they share its connection pool too. Everything
//! the benchmark talks to is on 127.0.0.1, which the store counts as a
//! secure context: a `Secure` cookie set over plain http there is kept and
//! sent back (and gatehouse's and Hydra's cookies in the benchmark's setup,
//! an http issuer with Hydra in `--dev` mode, are not `Secure` anyway).

use std::sync::{Mutex, MutexGuard};

use cookie_store::CookieStore;
use gatehouse::infra::http::error_chain;
use reqwest::header::{HeaderValue, COOKIE, LOCATION, SET_COOKIE};
use reqwest::RequestBuilder;
use serde_json::Value;
use url::Url;

/// One browser: the cookies it was given so far (Hydra's CSRF and session
/// cookies, gatehouse's CSRF cookie), sent back where they belong.
#[derive(Default)]
pub struct Browser {
    cookies: Mutex<CookieStore>,
}

/// One hop as a browser sees it; `location` is resolved against the URL
/// that was asked for.
pub struct Hop {
    status: u16,
    location: Option<Url>,
    body: String,
}

impl Browser {
    /// Sends `request` with this browser's cookies for its URL, keeps the
    /// cookies the answer sets, and reads the answer. `what` names the step
    /// in error messages.
    pub async fn hop(&self, request: RequestBuilder, what: &str) -> Result<Hop, String> {
        let (client, request) = request.build_split();
        let mut request = request.map_err(|e| format!("{what}: {}", error_chain(&e)))?;
        if let Some(cookies) = self.cookie_header(request.url()) {
            request.headers_mut().insert(COOKIE, cookies);
        }
        let response = client
            .execute(request)
            .await
            .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
        let url = response.url().clone();
        let headers = response.headers();
        self.keep_cookies(headers, &url);
        let status = response.status().as_u16();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok());
        let body = response
            .text()
            .await
            .map_err(|e| format!("{what}: reading the body: {e}"))?;
        Ok(Hop {
            status,
            location,
            body,
        })
    }

    /// The `Cookie` header for a request to `url`, if any cookie is for it.
    fn cookie_header(&self, url: &Url) -> Option<HeaderValue> {
        let cookies: Vec<String> = (self.jar().get_request_values(url))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if cookies.is_empty() {
            return None;
        }
        HeaderValue::from_str(&cookies.join("; ")).ok()
    }

    /// Keeps the cookies an answer from `url` sets.
    fn keep_cookies(&self, headers: &reqwest::header::HeaderMap, url: &Url) {
        let mut jar = self.jar();
        for set_cookie in headers.get_all(SET_COOKIE) {
            if let Ok(set_cookie) = set_cookie.to_str() {
                // One the store refuses (bad domain, ...) a browser drops too.
                let _ = jar.parse(set_cookie, url);
            }
        }
    }

    fn jar(&self) -> MutexGuard<'_, CookieStore> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Hop {
    /// Where a redirect sends the browser; an error for any other answer,
    /// and for a redirect that carries an OAuth `error`.
    pub fn expect_redirect(self, what: &str) -> Result<Url, String> {
        match self.location {
            Some(location) if (300..400).contains(&self.status) => {
                if let Some(error) = param(&location, "error") {
                    let description = param(&location, "error_description").unwrap_or_default();
                    return Err(format!("{what}: redirected with {error}: {description}"));
                }
                Ok(location)
            }
            _ => Err(format!(
                "{what}: expected a redirect, got {}: {}",
                self.status,
                excerpt(&self.body)
            )),
        }
    }

    /// The page of a 200 answer; an error for any other.
    pub fn expect_page(self, what: &str) -> Result<String, String> {
        if self.status == 200 {
            Ok(self.body)
        } else {
            Err(format!(
                "{what}: expected 200, got {} {:?}: {}",
                self.status,
                self.location.map(String::from),
                excerpt(&self.body)
            ))
        }
    }
}

/// Sends a JSON API call (no cookies) and returns the JSON of its 200 answer.
pub async fn api_call(request: RequestBuilder, what: &str) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(format!("{what}: {status}: {}", excerpt(&body)));
    }
    serde_json::from_str(&body).map_err(|e| format!("{what}: {e}: {}", excerpt(&body)))
}

/// The start of a body on one line, for error messages.
pub fn excerpt(text: &str) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(300).collect()
}

/// The first value of query parameter `name`.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn set_cookies(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SET_COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    /// What the flows rely on: set over plain http on 127.0.0.1, a cookie
    /// is sent back to any port of it, a `Secure` one too, and one deleted
    /// with `Max-Age=0` is gone.
    #[test]
    fn loopback_cookies_come_back_secure_or_not() {
        let browser = Browser::default();
        let hydra = Url::parse("http://127.0.0.1:4444/oauth2/auth").unwrap();
        let set = set_cookies(&[
            "ory_hydra_login_csrf_dev_1=abc; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax",
            "secure_one=s3; Path=/; HttpOnly; Secure; SameSite=Lax",
            "gone=x; Path=/",
        ]);
        browser.keep_cookies(&set, &hydra);
        let deleted =
            set_cookies(&["gone=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"]);
        browser.keep_cookies(&deleted, &hydra);
        let gatehouse = Url::parse("http://127.0.0.1:8080/login?x=1").unwrap();
        let sent = browser
            .cookie_header(&gatehouse)
            .expect("cookies for 127.0.0.1");
        let mut sent: Vec<&str> = sent.to_str().unwrap().split("; ").collect();
        sent.sort_unstable();
        assert_eq!(sent, ["ory_hydra_login_csrf_dev_1=abc", "secure_one=s3"]);
    }
}

//! The cookie that holds an offer's grant token after a sign-in
//! (signin/methods): HttpOnly, SameSite=Strict, `__Host-` on https; the
//! store keeps only the token's hash.

use axum::http::{HeaderMap, HeaderValue};

use super::error::PageError;
use crate::signin::methods::Grant;
use crate::web::AppState;

const COOKIE: &str = "gatehouse_enrol";
/// On https: `__Host-`, so a sibling subdomain cannot plant one.
const HOST_COOKIE: &str = "__Host-gatehouse_enrol";

/// The grant the browser's cookie names, while it lasts.
pub async fn open_grant(state: &AppState, headers: &HeaderMap) -> Result<Option<Grant>, PageError> {
    let name = cookie_name(state);
    let token = super::cookies::first(headers, name).filter(|value| value.len() == 64);
    match token {
        Some(token) => Ok(state.methods.grant(&token).await?),
        None => Ok(None),
    }
}

fn cookie_name(state: &AppState) -> &'static str {
    if state.config.server.public_url.scheme() == "https" {
        HOST_COOKIE
    } else {
        COOKIE
    }
}

/// The grant's cookie: HttpOnly, SameSite=Strict, for `max_age` seconds
/// (0: removed).
pub fn cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if cookie_name(state) == HOST_COOKIE {
        "; Secure"
    } else {
        ""
    };
    let name = cookie_name(state);
    let cookie =
        format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("a cookie of hex digits")
}

//! What every request meets before its route: a bound on the request
//! target's length; and the two faces of a fault answered here or in the
//! proxy (a page for a person whose browser asked for HTML, RFC 6749 JSON
//! for a program), plus the one way a request target goes into the log.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::api_error::error_response;
use super::views::{no_store, page};
use crate::i18n::t;

/// The longest request target (path and query) gatehouse takes, like
/// nginx's default header line; an authorization URL with PKCE, state,
/// nonce and a few claims is under 2 KiB.
pub const MAX_TARGET: usize = 8 * 1024;
/// How much of a path or address a log line holds.
const LOGGED_CHARS: usize = 200;

/// Refuses an over-long request target with 414 before any route (or the
/// proxy to Hydra) sees it.
pub async fn refuse_long_targets(request: Request, next: Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length <= MAX_TARGET {
        return next.run(request).await;
    }
    tracing::info!(
        length,
        path = %loggable(request.uri().path()),
        "request target over {MAX_TARGET} bytes refused (414)"
    );
    let description = format!("The request target is longer than {MAX_TARGET} bytes.");
    fault(
        request.headers(),
        Fault {
            status: StatusCode::URI_TOO_LONG,
            error: "invalid_request",
            description: &description,
            for_people: &t!("address-too-long"),
            retry_after: None,
            try_again: None,
        },
    )
}

/// Did the client ask for a page (a browser's navigation) rather than data?
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/html"))
}

/// The start of `text` (a path, an address) for a log line: never the
/// whole of a long one, and the length when cut.
pub fn loggable(text: &str) -> String {
    match text.char_indices().nth(LOGGED_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

/// A fault as both faces describe it.
pub struct Fault<'a> {
    pub status: StatusCode,
    /// The RFC 6749 error code.
    pub error: &'a str,
    /// For a program.
    pub description: &'a str,
    /// For a person.
    pub for_people: &'a str,
    pub retry_after: Option<Duration>,
    /// Where a person's "Try again" button goes.
    pub try_again: Option<&'a str>,
}

/// A page when the client asked for HTML, JSON otherwise; never cached,
/// with `Retry-After` when trying again later may help.
pub fn fault(headers: &HeaderMap, fault: Fault<'_>) -> Response {
    let mut response = if wants_html(headers) {
        let body = html! {
            h1 { (t!("error-title")) }
            p { (fault.for_people) }
            @if let Some(url) = fault.try_again {
                a.button href=(url) { (t!("try-again-button")) }
            }
        };
        (fault.status, no_store(), page(t!("error-title"), body)).into_response()
    } else {
        error_response(fault.status, fault.error, fault.description)
    };
    if let Some(wait) = fault.retry_after {
        let seconds = wait.as_secs().max(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_for_the_log() {
        assert_eq!(loggable("/oauth2/auth"), "/oauth2/auth");
        let long = "é".repeat(20_000);
        let cut = loggable(&long);
        assert!(cut.chars().count() < 250, "{cut}");
        assert!(cut.ends_with("(40000 bytes)"), "{cut}");
    }

    #[test]
    fn a_page_for_people_and_json_for_programs() {
        let mut browser = HeaderMap::new();
        browser.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        let fault_with = |headers: &HeaderMap| {
            fault(
                headers,
                Fault {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "temporarily_unavailable",
                    description: "later",
                    for_people: "Later, please.",
                    retry_after: Some(Duration::from_secs(2)),
                    try_again: Some("/again"),
                },
            )
        };
        let page = fault_with(&browser);
        assert_eq!(page.status(), 503);
        assert_eq!(page.headers()[header::RETRY_AFTER], "2");
        assert!(page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let json = fault_with(&HeaderMap::new());
        assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(json.headers()[header::RETRY_AFTER], "2");
    }
}

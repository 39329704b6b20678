//! Reverse proxy for Hydra's public endpoints, so that Hydra lives on
//! gatehouse's origin (one TLS upstream, first-party cookies).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use url::Url;

use crate::config::CaFile;
use crate::i18n::t;
use crate::infra::http::{self, error_chain, PassThrough};
use crate::web::edge::{fault, loggable, Fault};
use crate::web::AppState;

/// Headers that describe one connection and must not be forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Tries for a GET/HEAD whose connection Hydra refuses (about 1 s in all).
const CONNECT_ATTEMPTS: u32 = 5;
/// The longest Hydra may take to answer (its headers) before the client
/// is told it is unreachable.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request to Hydra's public port got no answer.
#[derive(Debug, thiserror::Error)]
enum Unanswered {
    #[error("{}", error_chain(.0))]
    Failed(#[from] hyper_util::client::legacy::Error),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// Never the address itself: its query holds the client's state.
    #[error("the upstream address is no URI")]
    BadUri,
}

#[derive(Clone)]
pub struct HydraProxy {
    http: PassThrough,
    upstream: String,
    forwarded_proto: HeaderValue,
    forwarded_host: HeaderValue,
}

impl HydraProxy {
    /// `upstream` is Hydra's public URL (`ca_file` for an https one behind
    /// a private CA); `public_url` is what clients see.
    pub fn new(upstream: &Url, public_url: &Url, ca_file: Option<&CaFile>) -> HydraProxy {
        let http = http::pass_through(ca_file);
        let host = match public_url.port() {
            Some(port) => format!("{}:{port}", public_url.host_str().unwrap_or_default()),
            None => public_url.host_str().unwrap_or_default().to_string(),
        };
        HydraProxy {
            http,
            upstream: upstream.as_str().trim_end_matches('/').to_string(),
            forwarded_proto: HeaderValue::from_str(public_url.scheme()).expect("scheme is ASCII"),
            forwarded_host: HeaderValue::from_str(&host).expect("host is ASCII"),
        }
    }

    /// Headers for a request to Hydra's public port on behalf of a client.
    fn upstream_headers(&self, incoming: &HeaderMap, peer: SocketAddr) -> HeaderMap {
        let mut headers = strip_hop_by_hop(incoming);
        headers.remove(header::HOST);
        // Never trust a client's own claim about the scheme or host.
        headers.insert("x-forwarded-proto", self.forwarded_proto.clone());
        headers.insert("x-forwarded-host", self.forwarded_host.clone());
        let forwarded_for = match incoming
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            Some(chain) => format!("{chain}, {}", peer.ip()),
            None => peer.ip().to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
            headers.insert("x-forwarded-for", value);
        }
        headers
    }

    /// One request to Hydra's public port; its answer's headers within
    /// [`ANSWER_TIMEOUT`].
    async fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<axum::http::Response<hyper::body::Incoming>, Unanswered> {
        let uri = Uri::try_from(url).map_err(|_| Unanswered::BadUri)?;
        let mut request = axum::http::Request::new(body);
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers.clone();
        match tokio::time::timeout(ANSWER_TIMEOUT, self.http.request(request)).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(Unanswered::TimedOut(ANSWER_TIMEOUT)),
        }
    }
}

fn strip_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    // The Connection header may name further per-connection headers.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || named.iter().any(|n| n == lower) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

pub async fn forward(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let proxy = &state.proxy;
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let url = format!("{}{}", proxy.upstream, path_and_query);
    let path = request.uri().path().to_string();
    let is_authorization = path == "/oauth2/auth";
    let start_again = format!("{}{}", state.config.public_origin(), path_and_query);
    let method = request.method().clone();
    let headers = proxy.upstream_headers(request.headers(), peer);
    // GET and HEAD carry no body and are safe to repeat: while a crashed
    // Hydra is being restarted, a few short retries hide the gap.
    let retryable = method == Method::GET || method == Method::HEAD;
    let mut body = Some(request.into_body());
    let mut attempt = 0;
    let upstream = loop {
        attempt += 1;
        let body = body.take().unwrap_or_else(Body::empty);
        let sent = proxy.send(&method, &url, &headers, body);
        match crate::infra::metrics::upstream(sent).await {
            Ok(response) => break response,
            Err(Unanswered::Failed(e))
                if retryable && e.is_connect() && attempt < CONNECT_ATTEMPTS =>
            {
                let error = error_chain(&e);
                tracing::debug!(%error, attempt, "hydra public endpoint not accepting; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => {
                let retry = retryable.then_some(start_again.as_str());
                return unreachable(e, &path, &headers, retry);
            }
        }
    };

    let status = upstream.status();
    if is_authorization && status.is_redirection() {
        let location = upstream
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok());
        if let Some(location) = location.filter(|l| is_csrf_failure(l)) {
            return super::error::csrf_explained(&without_verifiers(&start_again), location);
        }
    }
    let (mut parts, incoming) = upstream.into_parts();
    parts.headers = strip_hop_by_hop(&parts.headers);
    Response::from_parts(parts, Body::new(incoming))
}

/// Hydra did not answer: a page with a "Try again" link (for a GET) when
/// a person's browser asked for HTML, RFC 6749 JSON for a program. The
/// log gets the path, cut short, never the whole address (it can be long,
/// and its query holds the client's state).
fn unreachable(
    error: Unanswered,
    path: &str,
    headers: &HeaderMap,
    try_again: Option<&str>,
) -> Response {
    let reason = error.to_string();
    tracing::warn!(
        error = %loggable(&reason),
        path = %loggable(path),
        "hydra public endpoint unreachable"
    );
    fault(
        headers,
        Fault {
            status: StatusCode::BAD_GATEWAY,
            error: "temporarily_unavailable",
            description: "The authorization server is not reachable right now; try again shortly.",
            for_people: &t!("authorization-server-down"),
            retry_after: Some(Duration::from_secs(2)),
            try_again,
        },
    )
}

/// Hydra's CSRF failure, on its way to the client as a redirect: the person
/// would see a cryptic error inside the app, so gatehouse explains it first.
fn is_csrf_failure(location: &str) -> bool {
    // Every sign-in's first redirect passes here, with a long challenge:
    // parse only what may be the failure.
    if !location.contains("request_forbidden") {
        return false;
    }
    let Ok(url) = Url::parse(location) else {
        return false;
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    param("error").as_deref() == Some("request_forbidden")
        && param("error_description").is_some_and(|d| d.to_ascii_lowercase().contains("csrf"))
}

/// The authorization URL as the client first sent it: without the verifier
/// Hydra added, following it starts the sign-in again.
fn without_verifiers(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return url.to_string();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "login_verifier" && k != "consent_verifier")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_failures_are_recognised_and_verifiers_dropped() {
        assert!(is_csrf_failure(
            "https://app/cb?error=request_forbidden&error_description=No+CSRF+value+available&state=x"
        ));
        assert!(!is_csrf_failure(
            "https://app/cb?error=access_denied&error_description=csrf"
        ));
        assert!(!is_csrf_failure("https://app/cb?code=abc"));
        assert!(!is_csrf_failure("not a url"));
        assert_eq!(
            without_verifiers("https://id/oauth2/auth?client_id=a&login_verifier=v&state=s"),
            "https://id/oauth2/auth?client_id=a&state=s"
        );
    }
    use axum::http::HeaderName;

    #[test]
    fn forwarded_headers_come_from_public_url_not_client() {
        let proxy = HydraProxy::new(
            &"http://127.0.0.1:4444".parse().unwrap(),
            &"https://id.example.com".parse().unwrap(),
            None,
        );
        let mut incoming = HeaderMap::new();
        incoming.insert("x-forwarded-proto", HeaderValue::from_static("http"));
        incoming.insert(header::HOST, HeaderValue::from_static("evil.example"));
        incoming.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        incoming.insert(
            HeaderName::from_static("x-secret"),
            HeaderValue::from_static("1"),
        );
        incoming.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        let out = proxy.upstream_headers(&incoming, "10.0.0.7:5555".parse().unwrap());
        assert_eq!(out["x-forwarded-proto"], "https");
        assert_eq!(out["x-forwarded-host"], "id.example.com");
        assert_eq!(out["x-forwarded-for"], "10.0.0.7");
        assert_eq!(out[header::COOKIE], "a=b");
        assert!(out.get(header::HOST).is_none());
        assert!(out.get("x-secret").is_none());
        assert!(out.get(header::CONNECTION).is_none());
    }
}

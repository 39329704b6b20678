//! HTTP routes on the one public port.

mod account;
mod api_error;
mod audit;
mod bot_challenge;
mod canonical_host;
mod client_ip;
mod client_logo;
mod consent;
mod cookies;
pub mod csrf;
mod edge;
mod enrol;
mod error;
mod form_errors;
mod forward_auth;
mod grant_cookie;
mod headless_api;
mod health;
mod login;
mod logout;
mod passkey;
mod proxy;
mod receipts;
mod state;
mod step_up;
pub mod strings;
pub mod token_hook;
mod ui;
mod views;

use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use axum::Router;
pub use csrf::Csrf;
use tower::ServiceBuilder;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use proxy::HydraProxy;

use crate::signin::otp::receipts::{TWILIO_RECEIPT_PATH, VONAGE_RECEIPT_PATH};
pub use state::{AppState, Services};
pub use ui::{Branding, Ui};

/// Hydra's public paths, served through gatehouse's own origin.
const HYDRA_PUBLIC_PATHS: &[&str] = &["/oauth2/{*rest}", "/.well-known/{*rest}", "/userinfo"];

pub fn router(state: AppState) -> Router {
    let mut hydra = Router::new();
    for path in HYDRA_PUBLIC_PATHS {
        hydra = hydra.route(path, any(proxy::forward));
    }
    // Only what needs the matched route is layered on each route: axum
    // boxes every route's layers one inside the other and clones the chain
    // at each of them on every request.
    let routes = own_routes(&state)
        .merge(hydra)
        .layer(from_fn_with_state(
            state.clone(),
            canonical_host::redirect_other_hosts,
        ))
        .layer(from_fn_with_state(
            state.metrics.clone(),
            crate::infra::metrics::track_http,
        ))
        .with_state(state.clone());
    let https = state.config.server.public_url.scheme() == "https";
    // The rest wraps the whole router once, the first listed outermost.
    let edge = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(request_trace())
        .layer(PropagateRequestIdLayer::x_request_id())
        .option_layer(https.then(hsts))
        // Every page, the edge's and the proxy's faults too, speaks the
        // request's language.
        .layer(from_fn_with_state(state, ui::with_language))
        .layer(from_fn(edge::refuse_long_targets))
        .service(routes);
    Router::new().fallback_service(edge)
}

/// The pages and APIs gatehouse serves itself, with the audit context and
/// the security headers.
fn own_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/login", get(login::show).post(login::submit))
        .route(enrol::PATH, get(enrol::show).post(enrol::submit))
        .route("/login/passkey/start", post(passkey::sign_in_start))
        .route("/login/passkey/finish", post(passkey::sign_in_finish))
        .route("/enrol/passkey/start", post(passkey::register_start))
        .route("/enrol/passkey/finish", post(passkey::register_finish))
        .route(passkey::SCRIPT_PATH, get(passkey::script))
        .route(account::PATH, get(account::show).post(account::submit))
        .route(account::SIGN_IN_PATH, get(account::sign_in))
        .route(
            crate::signin::account::CALLBACK_PATH,
            get(account::callback),
        )
        .route("/consent", get(consent::show).post(consent::submit))
        .route("/logout", get(logout::show).post(logout::submit))
        .route("/logged-out", get(logout::logged_out))
        .route("/error", get(error::show))
        .route(views::STYLESHEET_PATH, get(ui::stylesheet))
        .route(ui::EXTRA_CSS_PATH, get(ui::extra_css))
        .route(ui::LOGO_PATH, get(ui::logo))
        .route(
            bot_challenge::POW_SCRIPT_PATH,
            get(bot_challenge::pow_script),
        )
        .route(views::FAVICON_PATH, get(views::favicon))
        .route(&state.config.forward_auth.path, any(forward_auth::verify))
        .route(TWILIO_RECEIPT_PATH, post(receipts::twilio))
        .route(
            VONAGE_RECEIPT_PATH,
            get(receipts::vonage).post(receipts::vonage),
        )
        .merge(headless_api::routes())
        .fallback(health::not_found)
        // Headers every page gatehouse renders itself carries, unless the
        // page set its own (Hydra's answers keep Hydra's): one layer on each
        // route, the four headers inside it.
        .layer(
            ServiceBuilder::new()
                .layer(keep_or_set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(keep_or_set(header::X_FRAME_OPTIONS, "DENY"))
                .layer(keep_or_set(header::REFERRER_POLICY, "no-referrer"))
                .layer(keep_or_set(
                    header::CONTENT_SECURITY_POLICY,
                    views::CONTENT_SECURITY_POLICY,
                )),
        )
        .layer(from_fn_with_state(state.clone(), audit::with_context))
}

/// On an https origin every answer, Hydra's included, tells the browser to
/// use https only for a year (no `includeSubDomains`: the other hosts of
/// the domain are not gatehouse's to decide for).
fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    keep_or_set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")
}

/// Sets `name` on every answer that does not carry it already.
fn keep_or_set(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

type MakeSpan = fn(&axum::http::Request<axum::body::Body>) -> tracing::Span;
type RequestTrace =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), DefaultOnResponse>;

/// Puts each request on a span with its id (`X-Request-Id`, kept when the
/// proxy in front set one, else made up), so that every log line about the
/// request carries it.
fn request_trace() -> RequestTrace {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG))
}

fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = edge::loggable(request.uri().path());
    tracing::info_span!("request", id = %id, method = %request.method(), path = %path)
}

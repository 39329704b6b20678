//! HTTP routes on the one public port.

pub mod challenges;
mod client_ip;
mod consent;
pub mod csrf;
mod error;
mod forward_auth;
mod headless;
mod health;
mod login;
mod logout;
mod proxy;
pub mod strings;
mod views;

use axum::http::{header, HeaderValue};
use axum::routing::{any, get};
use axum::Router;
pub use csrf::Csrf;
use tower_http::set_header::SetResponseHeaderLayer;

pub use proxy::HydraProxy;

use crate::AppState;

/// Hydra's public paths, served through gatehouse's own origin.
const HYDRA_PUBLIC_PATHS: &[&str] = &["/oauth2/{*rest}", "/.well-known/{*rest}", "/userinfo"];

pub fn router(state: AppState) -> Router {
    let own = with_security_headers(
        Router::new()
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/login", get(login::show).post(login::submit))
            .route("/consent", get(consent::show).post(consent::submit))
            .route("/logout", get(logout::show).post(logout::submit))
            .route("/logged-out", get(logout::logged_out))
            .route("/error", get(error::show))
            .route(views::STYLESHEET_PATH, get(views::stylesheet))
            .route(&state.config.forward_auth.path, any(forward_auth::verify))
            .merge(headless::routes())
            .fallback(health::not_found),
    );

    let mut hydra = Router::new();
    for path in HYDRA_PUBLIC_PATHS {
        hydra = hydra.route(path, any(proxy::forward));
    }
    let metrics = state.metrics.clone();
    own.merge(hydra)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track_http,
        ))
        .with_state(state)
}

/// Headers every page gatehouse renders itself carries. Hydra's responses
/// keep Hydra's own headers.
fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

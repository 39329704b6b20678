//! What every page speaks and looks like: the request's language (the
//! browser's `Accept-Language`, else `ui.default_locale`; the login and
//! consent handlers then prefer the app's `ui_locales`), and the
//! operator's branding (`[ui]`: name, logo, colour, extra stylesheet),
//! served as files so that the Content-Security-Policy needs no inline
//! style.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{ConfigError, ImageType, UiConfig};
use crate::i18n::{self, Catalog};
use crate::web::AppState;

pub const LOGO_PATH: &str = "/assets/logo";
pub const EXTRA_CSS_PATH: &str = "/assets/extra.css";
const STYLESHEET: &str = include_str!("assets/style.css");

/// The languages and the branding, loaded once at start-up.
pub struct Ui {
    pub catalog: Arc<Catalog>,
    pub branding: Arc<Branding>,
}

/// How the pages look; the default is gatehouse's own.
#[derive(Debug, Clone)]
pub struct Branding {
    pub product_name: String,
    logo: Option<(Vec<u8>, ImageType)>,
    extra_css: Option<String>,
    /// Gatehouse's stylesheet with the primary colour put in.
    stylesheet: String,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: UiConfig::default().product_name,
            logo: None,
            extra_css: None,
            stylesheet: STYLESHEET.to_string(),
        }
    }
}

impl Branding {
    pub fn has_logo(&self) -> bool {
        self.logo.is_some()
    }

    pub fn has_extra_css(&self) -> bool {
        self.extra_css.is_some()
    }
}

impl Ui {
    pub fn load(config: &UiConfig) -> Result<Ui, ConfigError> {
        let mut stylesheet = STYLESHEET.to_string();
        if let Some(color) = &config.primary_color {
            // Checked to be #rgb or #rrggbb: nothing else gets into the CSS.
            stylesheet.push_str(&format!("\n:root {{ --primary: {color}; }}\n"));
        }
        let branding = Branding {
            product_name: config.product_name.trim().to_string(),
            logo: config.logo_file()?,
            extra_css: config.extra_css_file()?,
            stylesheet,
        };
        Ok(Ui {
            catalog: Arc::new(config.catalog()?),
            branding: Arc::new(branding),
        })
    }
}

tokio::task_local! {
    static BRANDING: Arc<Branding>;
}

/// The branding of the request being answered (gatehouse's own outside one).
pub fn branding() -> Arc<Branding> {
    BRANDING
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(Branding::default()))
}

/// The most one `Accept-Language` is read for (bytes); a longer one is cut.
const MAX_ACCEPT_LANGUAGE: usize = 512;

/// Runs the request in its language, with the branding at hand.
pub async fn with_language(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let catalog = state.ui.catalog.clone();
    let header = accept_language(request.headers());
    let wanted = i18n::accepted(&header);
    let lang = catalog
        .first_match(wanted)
        .unwrap_or_else(|| catalog.default_lang());
    let branding = state.ui.branding.clone();
    let run = i18n::scope(catalog, lang, next.run(request));
    BRANDING.scope(branding, run).await
}

/// Every `Accept-Language` line, joined as one list (RFC 9110 5.3), cut.
fn accept_language(headers: &HeaderMap) -> String {
    let mut joined = String::new();
    for value in headers.get_all(header::ACCEPT_LANGUAGE) {
        let Ok(value) = value.to_str() else { continue };
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(value);
    }
    let mut end = joined.len().min(MAX_ACCEPT_LANGUAGE);
    while !joined.is_char_boundary(end) {
        end -= 1;
    }
    joined.truncate(end);
    joined
}

pub async fn stylesheet(State(state): State<AppState>) -> Response {
    let css = state.ui.branding.stylesheet.clone();
    css_response(css)
}

pub async fn extra_css(State(state): State<AppState>) -> Response {
    match &state.ui.branding.extra_css {
        Some(css) => css_response(css.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn css_response(css: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        css,
    )
        .into_response()
}

/// The logo. An SVG opened on its own is a document on gatehouse's
/// origin: it gets a policy that runs nothing and loads nothing.
pub async fn logo(State(state): State<AppState>) -> Response {
    let Some((bytes, kind)) = &state.ui.branding.logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, kind.content_type()),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        ],
        bytes.clone(),
    )
        .into_response()
}

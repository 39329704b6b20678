//! The page layout and the stylesheet; pages fill in the body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::ui;
use crate::i18n;

pub const STYLESHEET_PATH: &str = "/assets/style.css";

/// The Content-Security-Policy of gatehouse's own pages: their stylesheet
/// and images, no script, never in a frame. A page with a bot challenge
/// widens it for the challenge's script (`bot_challenge.rs`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";
pub const FAVICON_PATH: &str = "/favicon.ico";
/// A 16x16 PNG (browsers take PNG data at /favicon.ico), so that no page
/// load ends in a 404 in the browser's console.
const FAVICON: &[u8] = include_bytes!("assets/favicon.png");

/// A whole page: title, stylesheet, and `body` in one card.
/// In the request's language (`lang`, and `dir="rtl"` for Arabic), with
/// the operator's name, logo and stylesheet (`web/ui.rs`).
pub fn page(title: impl AsRef<str>, body: Markup) -> Markup {
    let title = title.as_ref();
    let (lang, rtl) = i18n::html_lang();
    let brand = ui::branding();
    html! {
        (DOCTYPE)
        html lang=(lang) dir=(if rtl { "rtl" } else { "ltr" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta name="color-scheme" content="light dark";
                title { (title) " – " (brand.product_name) }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                @if brand.has_extra_css() { link rel="stylesheet" href=(ui::EXTRA_CSS_PATH); }
            }
            body {
                header.brand {
                    @if brand.has_logo() { img src=(ui::LOGO_PATH) alt=""; }
                    span { (brand.product_name) }
                }
                main { (body) }
            }
        }
    }
}

/// A page with one message and no form, e.g. an error.
pub fn message_page(
    status: StatusCode,
    title: impl AsRef<str>,
    message: impl AsRef<str>,
) -> Response {
    let (title, message) = (title.as_ref(), message.as_ref());
    let body = html! {
        h1 { (title) }
        p { (message) }
    };
    (status, no_store(), page(title, body)).into_response()
}

/// The id of the form's error paragraph: the field it is about names it in
/// `aria-describedby`, so a screen reader reads it with the field.
pub const FORM_ERROR_ID: &str = "form-error";

/// A field's `aria-invalid` and `aria-describedby` when the form has an
/// error (none otherwise).
pub fn invalid_when(error: bool) -> (Option<&'static str>, Option<&'static str>) {
    if error {
        (Some("true"), Some(FORM_ERROR_ID))
    } else {
        (None, None)
    }
}

/// Optional notice and error paragraphs above a form: announced by screen
/// readers when the page shows them (`role` with an explicit `aria-live`
/// for older ones).
pub fn notices(notice: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice { p.notice role="status" aria-live="polite" { (notice) } }
        @if let Some(error) = error {
            p.error #(FORM_ERROR_ID) role="alert" aria-live="assertive" { (error) }
        }
    }
}

/// Pages carry challenges and one-time state: never cache them.
pub fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

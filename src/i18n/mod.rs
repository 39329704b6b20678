//! The languages gatehouse speaks (Fluent files in `locales/`), and the
//! language of the request being answered.
//!
//! A request's language is chosen once by the web layer (`web/language.rs`:
//! `Accept-Language`, else `ui.default_locale`) and refined when a handler
//! learns the app's `ui_locales` from Hydra ([`prefer`]). It is kept for the
//! request's task (a tokio task-local, like `RequestContext`), so the
//! views, the error pages and the text message all speak it without
//! passing it along: `t!("key")` or `t!("key", name = value)`.

mod catalog;

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};

pub use catalog::{Catalog, CatalogError, Lang, SMS_KEY};
pub use fluent_bundle::FluentArgs;

struct Current {
    catalog: Arc<Catalog>,
    lang: Cell<Lang>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `future` speaking `lang` of `catalog`.
pub fn scope<F: Future>(
    catalog: Arc<Catalog>,
    lang: Lang,
    future: F,
) -> impl Future<Output = F::Output> {
    CURRENT.scope(
        Current {
            catalog,
            lang: Cell::new(lang),
        },
        future,
    )
}

/// The shipped languages, for texts made outside any request (and tests).
fn embedded() -> &'static Arc<Catalog> {
    static EMBEDDED: OnceLock<Arc<Catalog>> = OnceLock::new();
    EMBEDDED.get_or_init(|| Arc::new(Catalog::embedded()))
}

/// Calls `f` with the current catalog and language.
fn with<T>(f: impl FnOnce(&Catalog, Lang) -> T) -> T {
    let current = CURRENT.try_with(|current| (current.catalog.clone(), current.lang.get()));
    match current {
        Ok((catalog, lang)) => f(&catalog, lang),
        Err(_) => f(embedded(), embedded().default_lang()),
    }
}

/// The app asked for `ui_locales` (OIDC Core 3.1.2.1, most wanted first):
/// the first one gatehouse speaks becomes the request's language, ahead of
/// the browser's `Accept-Language`.
pub fn prefer(ui_locales: &[String]) {
    let _ = CURRENT.try_with(|current| {
        let wanted = ui_locales.iter().flat_map(|l| l.split_whitespace());
        if let Some(lang) = current.catalog.first_match(wanted) {
            current.lang.set(lang);
        }
    });
}

/// The text `key` in the request's language (see [`t!`]).
pub fn text(key: &str, args: Option<&FluentArgs>) -> String {
    with(|catalog, lang| catalog.text(lang, key, args))
}

/// The request's language tag and whether it is written right to left.
pub fn html_lang() -> (String, bool) {
    with(|catalog, lang| (catalog.tag(lang).to_string(), catalog.is_rtl(lang)))
}

/// The text message carrying `code`, in the request's language.
pub fn sms_text(app: &str, code: &str) -> String {
    with(|catalog, lang| catalog.sms(lang, app, code))
}

/// The languages of an `Accept-Language` header, most wanted first
/// (RFC 9110 12.5.4: weights, `q=0` means "not this one"; a malformed
/// entry is skipped). At most 20 entries are read.
pub fn accepted(header: &str) -> Vec<&str> {
    let mut weighted: Vec<(&str, u32)> = header
        .split(',')
        .take(20)
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u32)
                })?;
            (!tag.is_empty() && tag != "*" && q > 0).then_some((tag, q))
        })
        .collect();
    weighted.sort_by_key(|&(_, q)| std::cmp::Reverse(q)); // stable: ties keep their order
    weighted.into_iter().map(|(tag, _)| tag).collect()
}

/// The text `key` in the request's language, with named arguments:
/// `t!("sign-in")`, `t!("sign-in-to", client = name)`. Keys are in
/// `locales/en/gatehouse.ftl`; a unit test checks that every key used in
/// the sources is there.
macro_rules! t {
    ($key:literal) => {
        $crate::i18n::text($key, None)
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = $crate::i18n::FluentArgs::new();
        $( args.set(stringify!($name), $value); )+
        $crate::i18n::text($key, Some(&args))
    }};
}
pub(crate) use t;

/// A key kept to be looked up later with [`text`] (a constant, a table):
/// `key!("passkey-not-offered")` is just the string, marked so that the
/// unit test that checks every key used exists finds it.
macro_rules! key {
    ($key:literal) => {
        $key
    };
}
pub(crate) use key;

#[cfg(test)]
mod tests;

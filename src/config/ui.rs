//! `[ui]`: the language people are spoken to in when neither their app nor
//! their browser names one gatehouse speaks, the operator's own texts, and
//! the branding of the pages (name, logo, colour, extra stylesheet).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use crate::i18n::Catalog;

/// The largest logo served (bytes): a page must stay light on a phone.
pub const MAX_LOGO_BYTES: u64 = 256 * 1024;
/// The largest `extra_css` file (bytes).
pub const MAX_EXTRA_CSS_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// A language tag gatehouse speaks (`en`, `de`, `fr`, `es`, `pt`, `ar`,
    /// or one added in `translations_dir`).
    pub default_locale: String,
    /// A directory of `<lang>.ftl` files overriding shipped texts.
    pub translations_dir: Option<PathBuf>,
    /// Shown at the top of every page and in its title.
    pub product_name: String,
    /// A PNG, JPEG, WebP or SVG file, served at `/assets/logo`.
    pub logo: Option<PathBuf>,
    /// `#rgb` or `#rrggbb`: buttons, links and focus rings.
    pub primary_color: Option<String>,
    /// A stylesheet served after gatehouse's own, at `/assets/extra.css`.
    pub extra_css: Option<PathBuf>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            default_locale: "en".into(),
            translations_dir: None,
            product_name: "Gatehouse".into(),
            logo: None,
            primary_color: None,
            extra_css: None,
        }
    }
}

/// What a logo file holds, from its first bytes (never from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Webp,
    Svg,
}

impl ImageType {
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(ImageType::Png);
        }
        if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            return Some(ImageType::Jpeg);
        }
        if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Some(ImageType::Webp);
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_lowercase();
        let head = head.trim_start_matches('\u{feff}').trim_start();
        let xml = head.starts_with("<?xml") || head.starts_with("<!--") || head.starts_with("<svg");
        (xml && head.contains("<svg")).then_some(ImageType::Svg)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
            ImageType::Svg => "image/svg+xml",
        }
    }
}

impl UiConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.catalog()?;
        if self.product_name.trim().is_empty() || self.product_name.chars().count() > 60 {
            return Err(ConfigError::key(
                "ui.product_name",
                "must be 1 to 60 characters",
            ));
        }
        if let Some(color) = &self.primary_color {
            if !is_hex_color(color) {
                return Err(ConfigError::key(
                    "ui.primary_color",
                    format!("`{color}` is not a colour like #1f4fd1 or #14d"),
                ));
            }
        }
        self.logo_file()?;
        self.extra_css_file()?;
        Ok(())
    }

    /// The translations, with the operator's overrides, checked.
    pub fn catalog(&self) -> Result<Catalog, ConfigError> {
        Catalog::load(&self.default_locale, self.translations_dir.as_deref()).map_err(|e| {
            if e.file == "ui.default_locale" {
                ConfigError::key("ui.default_locale", e.problem)
            } else {
                ConfigError::key("ui.translations_dir", e)
            }
        })
    }

    /// The logo's bytes and type, when one is set.
    pub fn logo_file(&self) -> Result<Option<(Vec<u8>, ImageType)>, ConfigError> {
        let Some(path) = &self.logo else {
            return Ok(None);
        };
        let bytes = read_limited("ui.logo", path, MAX_LOGO_BYTES)?;
        let kind = ImageType::sniff(&bytes).ok_or_else(|| {
            ConfigError::key(
                "ui.logo",
                format!("{} is not a PNG, JPEG, WebP or SVG image", path.display()),
            )
        })?;
        Ok(Some((bytes, kind)))
    }

    /// The extra stylesheet, when one is set.
    pub fn extra_css_file(&self) -> Result<Option<String>, ConfigError> {
        let Some(path) = &self.extra_css else {
            return Ok(None);
        };
        let bytes = read_limited("ui.extra_css", path, MAX_EXTRA_CSS_BYTES)?;
        String::from_utf8(bytes).map(Some).map_err(|_| {
            ConfigError::key(
                "ui.extra_css",
                format!("{} is not UTF-8 text", path.display()),
            )
        })
    }
}

fn read_limited(key: &str, path: &Path, max: u64) -> Result<Vec<u8>, ConfigError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ConfigError::key(key, format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > max {
        return Err(ConfigError::key(
            key,
            format!(
                "{} is {size} bytes; at most {max} are served",
                path.display()
            ),
        ));
    }
    std::fs::read(path)
        .map_err(|e| ConfigError::key(key, format!("cannot read {}: {e}", path.display())))
}

fn is_hex_color(color: &str) -> bool {
    color
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_only() {
        for good in ["#1f4fd1", "#14D", "#ABCDEF"] {
            assert!(is_hex_color(good), "{good}");
        }
        for bad in [
            "1f4fd1",
            "#1f4fd",
            "red",
            "#1f4fd1;}",
            "#12345g",
            "#1f4fd1 !important",
        ] {
            assert!(!is_hex_color(bad), "{bad}");
        }
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(
            ImageType::sniff(
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            ),
            Some(ImageType::Svg)
        );
        assert_eq!(ImageType::sniff(b"<html><script>"), None);
        assert_eq!(ImageType::sniff(b"GIF89a"), None);
    }
}

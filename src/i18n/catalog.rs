//! The translations: the languages shipped in the binary
//! (`locales/<lang>/gatehouse.ftl`), each with the operator's overrides
//! from `ui.translations_dir`, checked once when they are loaded.

use std::path::{Path, PathBuf};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast;
use unic_langid::{CharacterDirection, LanguageIdentifier};

/// The languages in the binary; English first: it is the reference every
/// other language falls back to, key by key.
const SHIPPED: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en/gatehouse.ftl")),
    ("de", include_str!("../../locales/de/gatehouse.ftl")),
    ("fr", include_str!("../../locales/fr/gatehouse.ftl")),
    ("es", include_str!("../../locales/es/gatehouse.ftl")),
    ("pt", include_str!("../../locales/pt/gatehouse.ftl")),
    ("ar", include_str!("../../locales/ar/gatehouse.ftl")),
];

/// The message of the text that carries the code; it must use `{ $code }`.
pub const SMS_KEY: &str = "sms-code";

/// Marks Fluent puts around placeables when isolating (FSI ... PDI, and
/// the LRI/RLI it never uses but an override might).
const ISOLATION_MARKS: &[char] = &['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];

/// Every language gatehouse speaks, with its texts.
pub struct Catalog {
    languages: Vec<Language>,
    /// Index of `ui.default_locale`.
    default: usize,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("languages", &self.tags())
            .field("default", &self.tags()[self.default])
            .finish()
    }
}

struct Language {
    id: LanguageIdentifier,
    tag: String,
    rtl: bool,
    bundle: FluentBundle<FluentResource>,
}

/// A language of one [`Catalog`], by position (English is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub(super) usize);

/// A translation file that cannot be used, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct CatalogError {
    pub file: String,
    pub problem: String,
}

impl CatalogError {
    fn new(file: &Path, problem: impl Into<String>) -> Self {
        CatalogError {
            file: file.display().to_string(),
            problem: problem.into(),
        }
    }
}

impl Catalog {
    /// The shipped languages only, English by default.
    pub fn embedded() -> Catalog {
        Catalog::load("en", None).expect("the shipped translations are checked by unit tests")
    }

    /// The shipped languages with the overrides in `dir` (`<lang>.ftl`
    /// each; a language not shipped is added), `default_locale` the one for
    /// people whose browser and app name none of them.
    pub fn load(default_locale: &str, dir: Option<&Path>) -> Result<Catalog, CatalogError> {
        let mut languages = Vec::new();
        for (tag, source) in SHIPPED {
            let file = PathBuf::from(format!("locales/{tag}/gatehouse.ftl"));
            let resource = parse(&file, source.to_string())?;
            let id: LanguageIdentifier = tag.parse().expect("shipped tags are valid");
            let mut language = Language::new(id);
            language.add(&file, resource, false)?;
            languages.push(language);
        }
        let mut catalog = Catalog {
            languages,
            default: 0,
        };
        if let Some(dir) = dir {
            catalog.add_overrides(dir)?;
        }
        let default = catalog.find(default_locale).ok_or_else(|| CatalogError {
            file: "ui.default_locale".into(),
            problem: format!(
                "`{default_locale}` is not one of the languages: {}",
                catalog.tags().join(", ")
            ),
        })?;
        catalog.default = default.0;
        for language in &catalog.languages {
            check_sms(language, &format!("the {} translation", language.tag))?;
        }
        Ok(catalog)
    }

    fn add_overrides(&mut self, dir: &Path) -> Result<(), CatalogError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| CatalogError::new(dir, format!("cannot read the directory: {e}")))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "ftl"))
            .collect();
        files.sort();
        for file in files {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let id: LanguageIdentifier = stem.parse().map_err(|_| {
                CatalogError::new(&file, "the file name must be a language tag, e.g. de.ftl")
            })?;
            let source = std::fs::read_to_string(&file)
                .map_err(|e| CatalogError::new(&file, format!("cannot read it: {e}")))?;
            let resource = parse(&file, source)?;
            self.check_keys(&file, &resource)?;
            let index = match self.languages.iter().position(|l| l.id == id) {
                Some(index) => index,
                None => {
                    self.languages.push(Language::new(id));
                    self.languages.len() - 1
                }
            };
            self.languages[index].add(&file, resource, true)?;
            check_sms(&self.languages[index], &file.display().to_string())?;
        }
        Ok(())
    }

    /// An override may only change what gatehouse says: a key English does
    /// not have would never be shown, so it is a typo.
    fn check_keys(&self, file: &Path, resource: &FluentResource) -> Result<(), CatalogError> {
        for entry in resource.entries() {
            if let ast::Entry::Message(message) = entry {
                let key = message.id.name;
                if !self.languages[0].bundle.has_message(key) {
                    return Err(CatalogError::new(
                        file,
                        format!("unknown key `{key}`: gatehouse has no such text"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn tags(&self) -> Vec<&str> {
        self.languages.iter().map(|l| l.tag.as_str()).collect()
    }

    /// The language for exactly `tag` or, failing that, for its language
    /// alone (`de-CH` is served `de`, `pt-BR` `pt`).
    pub fn find(&self, tag: &str) -> Option<Lang> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        let exact = self.languages.iter().position(|l| l.id == id);
        let same_language = || {
            self.languages
                .iter()
                .position(|l| l.id.language == id.language)
        };
        exact.or_else(same_language).map(Lang)
    }

    /// The first of `requested` (most wanted first) that gatehouse speaks.
    pub fn first_match<'r>(&self, requested: impl IntoIterator<Item = &'r str>) -> Option<Lang> {
        requested.into_iter().find_map(|tag| self.find(tag))
    }

    pub fn default_lang(&self) -> Lang {
        Lang(self.default)
    }

    /// `lang`'s BCP 47 tag, for `<html lang>`.
    pub fn tag(&self, lang: Lang) -> &str {
        &self.language(lang).tag
    }

    /// Is `lang` written right to left (`<html dir="rtl">`)?
    pub fn is_rtl(&self, lang: Lang) -> bool {
        self.language(lang).rtl
    }

    fn language(&self, lang: Lang) -> &Language {
        self.languages.get(lang.0).unwrap_or(&self.languages[0])
    }

    /// The text `key` in `lang`, or in English when `lang` lacks it; the key
    /// itself when no language has it (a unit test keeps that from
    /// happening).
    pub fn text(&self, lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
        self.language(lang)
            .format(key, args)
            .or_else(|| self.languages[0].format(key, args))
            .unwrap_or_else(|| key.to_string())
    }

    /// The text message with `code` in `lang`: no isolation marks (they
    /// show as boxes on some phones and would break the autofill line).
    pub fn sms(&self, lang: Lang, app: &str, code: &str) -> String {
        let text = self.text(lang, SMS_KEY, Some(&sms_args(app, code)));
        text.replace(ISOLATION_MARKS, "")
    }
}

/// The text message must carry the code, in every language; `file` names
/// where its words came from.
fn check_sms(language: &Language, file: &str) -> Result<(), CatalogError> {
    if !language.bundle.has_message(SMS_KEY) {
        return Ok(()); // English's is used
    }
    let probe = "\u{1}CODE\u{1}";
    let text = language.format(SMS_KEY, Some(&sms_args("app", probe)));
    if text.is_some_and(|text| text.contains(probe)) {
        return Ok(());
    }
    Err(CatalogError {
        file: file.to_string(),
        problem: format!("`{SMS_KEY}` must contain {{ $code }}, where the code goes"),
    })
}

fn sms_args<'a>(app: &'a str, code: &'a str) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    args.set("app", app);
    args.set("code", code);
    args
}

fn parse(file: &Path, source: String) -> Result<FluentResource, CatalogError> {
    FluentResource::try_new(source.clone()).map_err(|(_, errors)| {
        let first = &errors[0];
        let line = source[..first.pos.start.min(source.len())]
            .lines()
            .count()
            .max(1);
        CatalogError::new(file, format!("not valid Fluent at line {line}: {first}"))
    })
}

impl Language {
    fn new(id: LanguageIdentifier) -> Language {
        let rtl = id.character_direction() == CharacterDirection::RTL;
        let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
        // Fluent wraps each placeable in FSI ... PDI so that a name in
        // another script cannot turn the sentence around. That matters in
        // right-to-left text, where phone numbers and Latin client names
        // are common; in left-to-right languages the placeables are digits
        // and names, and the invisible marks would only get into titles,
        // copied codes and tests' string matches.
        bundle.set_use_isolating(rtl);
        Language {
            tag: id.to_string(),
            id,
            rtl,
            bundle,
        }
    }

    fn add(
        &mut self,
        file: &Path,
        resource: FluentResource,
        overriding: bool,
    ) -> Result<(), CatalogError> {
        if overriding {
            self.bundle.add_resource_overriding(resource);
            return Ok(());
        }
        self.bundle.add_resource(resource).map_err(|errors| {
            CatalogError::new(file, format!("a key is defined twice: {:?}", errors[0]))
        })
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> Option<String> {
        let pattern = self.bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::debug!(key, language = %self.tag, ?errors, "a text was formatted with errors");
        }
        Some(text.into_owned())
    }
}

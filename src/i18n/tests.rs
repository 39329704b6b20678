use std::collections::BTreeSet;
use std::path::Path;

use super::*;

const LANGUAGES: &[&str] = &["en", "de", "fr", "es", "pt", "ar"];

fn keys(tag: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("locales/{tag}/gatehouse.ftl"));
    let source = std::fs::read_to_string(path).unwrap();
    source
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once(" =").map(|(key, _)| key.trim().to_string()))
        .collect()
}

#[test]
fn every_shipped_language_has_exactly_the_english_keys() {
    let english = keys("en");
    assert!(english.len() > 100, "{}", english.len());
    for tag in LANGUAGES {
        let theirs = keys(tag);
        let missing: Vec<_> = english.difference(&theirs).collect();
        let unknown: Vec<_> = theirs.difference(&english).collect();
        assert!(missing.is_empty(), "{tag} lacks {missing:?}");
        assert!(unknown.is_empty(), "{tag} has unknown keys {unknown:?}");
    }
}

/// Every `t!("key"` and `text("key"` in the sources is an English key, so
/// no page ever shows a bare key.
#[test]
fn every_key_the_sources_use_exists() {
    let english = keys("en");
    let mut used = BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for marker in ["t!(\"", "key!(\""] {
                for (i, _) in source.match_indices(marker) {
                    // `format!("`, `assert!("` end the same way.
                    let before = source[..i].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    let rest = &source[i + marker.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    used.insert(key.to_string());
                }
            }
        }
    }
    used.remove("key"); // the macro's own documentation
    assert!(used.len() > 50, "{}", used.len());
    let unknown: Vec<_> = used.iter().filter(|k| !english.contains(*k)).collect();
    assert!(unknown.is_empty(), "keys used but not in en: {unknown:?}");
}

#[test]
fn languages_are_found_by_tag_or_by_language() {
    let catalog = Catalog::embedded();
    let tag = |t: &str| catalog.find(t).map(|lang| catalog.tag(lang).to_string());
    assert_eq!(tag("de").as_deref(), Some("de"));
    assert_eq!(tag("de-CH").as_deref(), Some("de"));
    assert_eq!(tag("pt-BR").as_deref(), Some("pt"));
    assert_eq!(tag("xx"), None);
    assert_eq!(tag("not a tag!"), None);
    assert!(catalog.is_rtl(catalog.find("ar").unwrap()));
    assert!(!catalog.is_rtl(catalog.find("fr").unwrap()));
}

#[test]
fn accept_language_weights_order_and_exclude() {
    assert_eq!(
        accepted("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
        ["fr-CH", "fr", "en", "de"]
    );
    assert_eq!(accepted("en;q=0.1, de"), ["de", "en"]);
    assert_eq!(accepted("de;q=0, fr"), ["fr"]);
    assert_eq!(accepted("de;q=oops, fr"), ["fr"]);
    assert!(accepted("").is_empty());
    assert_eq!(accepted(&"xx,".repeat(10_000)).len(), 20);
}

#[test]
fn plurals_follow_each_language() {
    let catalog = Catalog::embedded();
    let wrong = |tag: &str, n: u32| {
        let mut args = FluentArgs::new();
        args.set("attempts", n);
        catalog.text(catalog.find(tag).unwrap(), "wrong-code", Some(&args))
    };
    assert_eq!(
        wrong("en", 1),
        "That code is not right. You have 1 try left."
    );
    assert_eq!(
        wrong("en", 3),
        "That code is not right. You have 3 tries left."
    );
    assert!(wrong("de", 1).contains("1 Versuch"), "{}", wrong("de", 1));
    assert!(wrong("de", 3).contains("3 Versuche"), "{}", wrong("de", 3));
}

#[test]
fn every_text_message_carries_the_code_without_marks() {
    let catalog = Catalog::embedded();
    for tag in LANGUAGES {
        let text = catalog.sms(catalog.find(tag).unwrap(), "Acme", "042917");
        assert!(text.contains("042917"), "{tag}: {text}");
        assert!(text.contains("Acme"), "{tag}: {text}");
        assert!(!text.contains(['\u{2068}', '\u{2069}']), "{tag}: {text:?}");
    }
}

#[test]
fn outside_a_request_texts_are_english() {
    assert_eq!(text("cancel", None), "Cancel");
    assert_eq!(html_lang(), ("en".to_string(), false));
}

#[tokio::test]
async fn ui_locales_beat_the_scope_language() {
    let catalog = Arc::new(Catalog::embedded());
    let de = catalog.find("de").unwrap();
    let text = scope(catalog, de, async {
        prefer(&["xx fr".to_string()]);
        t!("cancel")
    });
    assert_eq!(text.await, "Annuler");
}

mod overrides {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Catalog::load("en", Some(dir.path()))
    }

    #[test]
    fn an_override_replaces_one_text_and_keeps_the_rest() {
        let catalog = load(&[("de.ftl", "cancel = Lieber nicht\n")]).unwrap();
        let de = catalog.find("de").unwrap();
        assert_eq!(catalog.text(de, "cancel", None), "Lieber nicht");
        assert_eq!(catalog.text(de, "send-code", None), "Code senden");
    }

    #[test]
    fn a_new_language_falls_back_to_english_key_by_key() {
        let catalog = load(&[("it.ftl", "cancel = Annulla\n")]).unwrap();
        let it = catalog.find("it").unwrap();
        assert_eq!(catalog.text(it, "cancel", None), "Annulla");
        assert_eq!(catalog.text(it, "send-code", None), "Send code");
    }

    #[test]
    fn an_unknown_key_names_file_and_key() {
        let error = load(&[("fr.ftl", "cancel = Non\ncancle = Typo\n")]).unwrap_err();
        assert!(error.file.ends_with("fr.ftl"), "{error}");
        assert!(error.problem.contains("`cancle`"), "{error}");
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let error = load(&[("es.ftl", "cancel = No\n\nsend-code = { $oops\n")]).unwrap_err();
        assert!(error.file.ends_with("es.ftl"), "{error}");
        assert!(error.problem.contains("line 3"), "{error}");
    }

    #[test]
    fn a_text_message_without_the_code_is_refused() {
        let error = load(&[("pt.ftl", "sms-code = Seu código chegou\n")]).unwrap_err();
        assert!(error.file.ends_with("pt.ftl"), "{error}");
        assert!(error.to_string().contains("sms-code"), "{error}");
        assert!(error.to_string().contains("{ $code }"), "{error}");
        // The code in one branch only is no code in the others.
        let error = load(&[(
            "en.ftl",
            "sms-code = { $app ->\n    [x] { $code }\n   *[other] no code\n}\n",
        )]);
        assert!(error.is_err());
    }

    #[test]
    fn a_file_name_that_is_no_language_is_refused() {
        let error = load(&[("german!.ftl", "cancel = Nein\n")]).unwrap_err();
        assert!(error.problem.contains("language tag"), "{error}");
    }

    #[test]
    fn the_default_locale_must_be_spoken() {
        assert!(Catalog::load("xx", None).is_err());
        assert!(Catalog::load("ar", None).is_ok());
    }
}

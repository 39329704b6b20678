//! A translation or branding file that cannot be used stops `serve` and
//! `check-config` with one line naming the setting, the file and the key.

use std::path::Path;

use crate::helpers::binary;

/// Runs the real binary with `env`; returns its exit code and stderr.
fn run(command: &str, env: &[(&str, &str)], dir: &Path) -> (i32, String) {
    let output = binary::command(&[command], env.iter().copied(), dir)
        .output()
        .expect("run gatehouse");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

/// Each bad file, with what the one line must name.
fn refused(dir: &Path, env: &[(&str, &str)], names: &[&str]) {
    for command in ["check-config", "serve"] {
        let (code, stderr) = run(command, env, dir);
        assert_eq!(code, 78, "{command} {env:?}: {stderr}");
        for name in names {
            assert!(
                stderr.contains(name),
                "{command} {env:?} should name {name}: {stderr}"
            );
        }
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    }
}

#[test]
fn bad_translation_files_stop_start_up_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let translations = |name: &str, file: &str, text: &str| {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(file), text).unwrap();
        sub.to_str().unwrap().to_string()
    };
    let key = "GATEHOUSE_UI__TRANSLATIONS_DIR";

    // A key gatehouse does not have (a typo): it would never show.
    let typo = translations("typo", "fr.ftl", "cancel = Non\nsend-cod = Envoyer\n");
    refused(
        dir.path(),
        &[(key, &typo)],
        &["`ui.translations_dir`", "fr.ftl", "`send-cod`"],
    );

    // Not Fluent.
    let broken = translations(
        "broken",
        "de.ftl",
        "cancel = Abbrechen\n\nsend-code = { $x\n",
    );
    refused(
        dir.path(),
        &[(key, &broken)],
        &["`ui.translations_dir`", "de.ftl", "line 3"],
    );

    // A text message without the code.
    let no_code = translations(
        "nocode",
        "es.ftl",
        "sms-code = Tu código de { $app } ya llegó\n",
    );
    refused(
        dir.path(),
        &[(key, &no_code)],
        &["`ui.translations_dir`", "es.ftl", "sms-code", "{ $code }"],
    );

    // A file whose name is no language.
    let named = translations("named", "french.ftl.ftl", "cancel = Non\n");
    refused(
        dir.path(),
        &[(key, &named)],
        &["`ui.translations_dir`", "french.ftl.ftl"],
    );

    // A directory that is not there.
    let missing = dir.path().join("missing");
    refused(
        dir.path(),
        &[(key, missing.to_str().unwrap())],
        &["`ui.translations_dir`", "missing"],
    );

    // A default language gatehouse does not speak.
    refused(
        dir.path(),
        &[("GATEHOUSE_UI__DEFAULT_LOCALE", "tlh")],
        &["`ui.default_locale`", "tlh"],
    );

    // A good file passes.
    let good = translations("good", "de.ftl", "cancel = Lieber nicht\n");
    let (code, stderr) = run("check-config", &[(key, &good)], dir.path());
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn bad_branding_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let html = file("logo.png", b"<html><script>alert(1)</script></html>");
    refused(
        dir.path(),
        &[("GATEHOUSE_UI__LOGO", &html)],
        &["`ui.logo`", "logo.png"],
    );
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(300 * 1024, 0);
    let big = file("big.png", &big);
    refused(
        dir.path(),
        &[("GATEHOUSE_UI__LOGO", &big)],
        &["`ui.logo`", "big.png"],
    );
    for colour in ["red", "#12345", "#1f4fd1;}body{display:none"] {
        refused(
            dir.path(),
            &[("GATEHOUSE_UI__PRIMARY_COLOR", colour)],
            &["`ui.primary_color`"],
        );
    }
    let latin1 = file("brand.css", b"body { font-family: \xe9; }");
    refused(
        dir.path(),
        &[("GATEHOUSE_UI__EXTRA_CSS", &latin1)],
        &["`ui.extra_css`"],
    );
    refused(
        dir.path(),
        &[("GATEHOUSE_SMS__AUTOFILL_HOST", "https://id.example.com/")],
        &["`sms.autofill_host`"],
    );
}

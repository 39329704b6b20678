//! `mdbook build docs` succeeds and renders every chapter, and README.md
//! stays a front door: short, with the two commands first and a way into
//! every part of the manual.

use std::path::PathBuf;
use std::process::Command;

use super::{chapters, docs, read, root};

/// mdBook as scripts/install-mdbook puts it (or on PATH).
fn mdbook() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default();
    let cached = cache.join("gatehouse/tools/bin/mdbook");
    if cached.is_file() {
        return cached;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("mdbook"))
        .find(|p| p.is_file());
    on_path.unwrap_or_else(|| panic!("mdbook is not installed: run scripts/install-mdbook first"))
}

#[test]
fn the_book_builds_with_every_chapter() {
    let out = tempfile::tempdir().unwrap();
    let build = Command::new(mdbook())
        .arg("build")
        .arg(docs())
        .arg("--dest-dir")
        .arg(out.path())
        .output()
        .expect("run mdbook");
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        build.status.success(),
        "mdbook build docs failed:\n{stderr}"
    );
    // mdBook warns, without failing, about some mistakes (a missing include).
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    for chapter in chapters() {
        let page = out.path().join(chapter.replace(".md", ".html"));
        let html = std::fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("{chapter} was not rendered ({}): {e}", page.display()));
        assert!(html.contains("<h1"), "{chapter} has no title");
        // An include that failed leaves its directive in the page.
        assert!(
            !html.contains("{{#include"),
            "{chapter}: an include did not resolve"
        );
    }
}

#[test]
fn the_readme_is_a_short_front_door_into_the_manual() {
    let readme = read(&root().join("README.md"));
    let lines = readme.lines().count();
    assert!(
        lines < 200,
        "README.md has {lines} lines; the details belong in docs/"
    );
    // The two commands come first: run gatehouse, run the tests.
    let first_block = super::blocks(&readme)
        .into_iter()
        .next()
        .expect("a code block");
    assert!(
        first_block.text.contains("cargo run -- serve"),
        "{}",
        first_block.text
    );
    assert!(
        first_block.text.contains("scripts/test"),
        "{}",
        first_block.text
    );
    // Each part of the manual is reachable from the README.
    for part in [
        "install/",
        "configuration/",
        "integrations/",
        "security/",
        "operations/",
    ] {
        assert!(
            readme.contains(&format!("(docs/{part}")),
            "README.md links no page of docs/{part}"
        );
    }
}

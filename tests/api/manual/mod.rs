//! The manual (docs/, an mdBook; README.md is its front door): it builds,
//! every link in it resolves, its configuration reference is generated from
//! config.toml.example, and every TOML and shell example in it is valid.

mod book;
mod links;
mod reference;
mod snippets;

use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// docs/, the book's source.
fn docs() -> PathBuf {
    root().join("docs")
}

/// The chapters SUMMARY.md lists, as paths relative to docs/.
fn chapters() -> Vec<String> {
    let summary = std::fs::read_to_string(docs().join("SUMMARY.md")).expect("docs/SUMMARY.md");
    summary
        .lines()
        .filter_map(|line| {
            let start = line.find("](")? + 2;
            let end = start + line[start..].find(')')?;
            Some(line[start..end].to_string())
        })
        .collect()
}

/// Every page a reader may open: README.md (relative to the root) and the
/// chapters (relative to docs/), as (path from the root, text).
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("README.md".to_string(), read(&root().join("README.md")))];
    for chapter in chapters() {
        let path = format!("docs/{chapter}");
        pages.push((path.clone(), read(&root().join(&path))));
    }
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fenced block of a page: its info string (`toml`, `sh`, ...), its text,
/// the `<!-- snippet: NAME -->` marker right above it, if any, and its line.
pub struct Block {
    pub info: String,
    pub text: String,
    pub marker: Option<String>,
    pub line: usize,
}

/// The fenced blocks of `text`.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((number, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let mut body = Vec::new();
            for (_, line) in lines.by_ref() {
                if line.starts_with("```") {
                    break;
                }
                body.push(line);
            }
            let marker = previous
                .trim()
                .strip_prefix("<!-- snippet: ")
                .and_then(|rest| rest.strip_suffix(" -->"))
                .map(str::to_string);
            blocks.push(Block {
                info: info.trim().to_string(),
                text: format!("{}\n", body.join("\n")),
                marker,
                line: number + 1,
            });
            previous = "";
            continue;
        }
        previous = line;
    }
    blocks
}

/// The block marked `<!-- snippet: {name} -->` in the chapter `chapter`
/// (relative to docs/), without its fences. The tests that run a snippet
/// read it from the manual, so the documented text is the tested text.
pub fn snippet(chapter: &str, name: &str) -> String {
    let text = read(&docs().join(chapter));
    let mut marked = blocks(&text)
        .into_iter()
        .filter(|b| b.marker.as_deref() == Some(name));
    let block = marked
        .next()
        .unwrap_or_else(|| panic!("docs/{chapter} has no block after `<!-- snippet: {name} -->`"));
    assert!(
        marked.next().is_none(),
        "docs/{chapter}: two `{name}` snippets"
    );
    block.text
}

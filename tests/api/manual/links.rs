//! Every link of the manual and the README leads somewhere: a file that
//! exists (a chapter when it is a page of the book) and, after `#`, a
//! heading of that page, by mdBook's rule for anchors.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::{blocks, chapters, docs, pages, read, root};

/// The `[text](target)` targets of `text` outside code blocks and spans.
pub fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Drop code spans: `[x](y)` inside backticks is no link.
        let outside: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = outside.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// The anchors mdBook gives the headings of `text`: lower case, letters,
/// digits, `-` and `_` kept, spaces made `-`, the rest dropped; a repeated
/// heading gets `-1`, `-2`, ...
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        let heading = line.trim_start_matches('#');
        if in_fence || heading.len() == line.len() || !heading.starts_with(' ') {
            continue;
        }
        let id: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while seen.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        seen.insert(unique);
    }
    seen
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Why the link `target` on page `page` (a path from the root) leads
/// nowhere, if it does.
fn broken(page: &str, target: &str, chapters: &BTreeSet<PathBuf>) -> Option<String> {
    if target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("mailto:")
    {
        return None;
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let here = Path::new(page).parent().unwrap_or(Path::new(""));
    let file = if file.is_empty() {
        Path::new(page).to_path_buf()
    } else {
        normalize(&here.join(file))
    };
    if !root().join(&file).exists() {
        return Some(format!("{page}: `{target}`: no file {}", file.display()));
    }
    let in_book = file.starts_with("docs") && file.extension().is_some_and(|e| e == "md");
    if in_book && page.starts_with("docs/") && !chapters.contains(&file) {
        return Some(format!(
            "{page}: `{target}`: {} is not in SUMMARY.md",
            file.display()
        ));
    }
    if !anchor.is_empty() && !anchors(&read(&root().join(&file))).contains(anchor) {
        return Some(format!(
            "{page}: `{target}`: no heading #{anchor} in {}",
            file.display()
        ));
    }
    None
}

#[test]
fn every_link_in_the_manual_and_the_readme_resolves() {
    let chapters: BTreeSet<PathBuf> = chapters()
        .iter()
        .map(|c| Path::new("docs").join(c))
        .collect();
    let broken: Vec<String> = pages()
        .iter()
        .flat_map(|(page, text)| {
            link_targets(text)
                .into_iter()
                .filter_map(|target| broken(page, &target, &chapters))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_page_under_docs_is_a_chapter_and_every_chapter_exists() {
    let chapters: BTreeSet<String> = chapters().into_iter().collect();
    let mut files = BTreeSet::new();
    let mut dirs = vec![docs()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let relative = path
                    .strip_prefix(docs())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if relative != "SUMMARY.md" {
                    files.insert(relative);
                }
            }
        }
    }
    let orphans: Vec<&String> = files.difference(&chapters).collect();
    assert!(
        orphans.is_empty(),
        "pages SUMMARY.md does not list: {orphans:?}"
    );
    let missing: Vec<&String> = chapters.difference(&files).collect();
    assert!(missing.is_empty(), "chapters without a file: {missing:?}");
}

#[test]
fn the_link_checker_finds_a_broken_file_and_a_broken_anchor() {
    let chapters = BTreeSet::from([PathBuf::from("docs/users.md")]);
    assert!(broken("docs/users.md", "nowhere.md", &chapters).is_some());
    assert!(broken("docs/users.md", "users.md#no-such-heading", &chapters).is_some());
    assert!(broken("docs/users.md", "../README.md", &chapters).is_none());
    let heading = anchors(&read(&docs().join("users.md")));
    let first = heading.iter().next().expect("a heading in users.md");
    assert!(broken("docs/users.md", &format!("#{first}"), &chapters).is_none());
    assert_eq!(
        anchors("# A `[b.c]` (d), e_f\n## A `[b.c]` (d), e_f\n```\n# not\n```"),
        BTreeSet::from(["a-bc-d-e_f".to_string(), "a-bc-d-e_f-1".to_string()])
    );
    assert!(blocks("<!-- snippet: x -->\n```sh\nls\n```\n")[0]
        .marker
        .is_some());
}

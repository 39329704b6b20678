//! The layout rules of docs/ARCHITECTURE.md, checked on the source itself:
//! imports point one way between the layers and form no cycle between
//! files, no source file is over 500 lines and no function over 80, SQL engines are used only where
//! the document says, and the data dir's file names and the outbound HTTP
//! client are written once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each one may import (docs/ARCHITECTURE.md,
/// "Layers"). `cli` and `startup` wire everything and may use anything.
const MAY_USE: &[(&str, &[&str])] = &[
    (
        "web",
        &[
            "signin",
            "forward_auth",
            "hydra",
            "directory",
            "store",
            "i18n",
            "config",
            "domain",
            "infra",
        ],
    ),
    (
        "signin",
        &[
            "hydra",
            "store",
            "directory",
            "sms",
            "i18n",
            "config",
            "domain",
            "infra",
        ],
    ),
    ("directory", &["store", "config", "domain", "infra"]),
    ("forward_auth", &["hydra", "config", "domain", "infra"]),
    ("jobs", &["store", "config", "domain", "infra"]),
    ("hydra", &["config", "domain", "infra"]),
    ("sms", &["config", "domain", "infra"]),
    ("store", &["config", "domain", "infra"]),
    ("infra", &["config", "domain"]),
    ("config", &["i18n", "domain"]),
    ("i18n", &[]),
    ("domain", &[]),
];

const MAX_LINES: usize = 500;
const MAX_FUNCTION_LINES: usize = 80;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library source file (not the binaries), as (path under src/, text
/// without comment lines and without its `#[cfg(test)]` module).
fn library_sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect(&src_dir(), &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(src_dir()).ok()?.to_str()?.to_string();
            if relative.starts_with("bin/") || relative == "main.rs" {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Some((relative, code_only(&text)))
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The code of a file: comment lines and the unit-test module left out.
fn code_only(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `signin/otp.rs` -> `signin::otp`; `web/mod.rs` -> `web`.
fn module_of(relative: &str) -> String {
    let path = relative.trim_end_matches(".rs").trim_end_matches("/mod");
    path.replace('/', "::")
}

/// The module paths a piece of code names after `crate::`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        paths.push(path.trim_end_matches(':').to_string());
    }
    paths
}

#[test]
fn imports_point_one_way_between_the_layers() {
    let rules: BTreeMap<&str, &[&str]> = MAY_USE.iter().copied().collect();
    let mut wrong = Vec::new();
    for (file, code) in library_sources() {
        let module = module_of(&file);
        let top = module.split("::").next().unwrap_or_default().to_string();
        let Some(allowed) = rules.get(top.as_str()) else {
            continue; // cli, startup, lib: the wiring
        };
        for path in crate_paths(&code) {
            let target = path.split("::").next().unwrap_or_default();
            if target != top && !allowed.contains(&target) {
                wrong.push(format!("{file} uses crate::{path}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against docs/ARCHITECTURE.md:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycle_between_files() {
    let sources = library_sources();
    let modules: BTreeSet<String> = sources.iter().map(|(f, _)| module_of(f)).collect();
    // The longest module path that `path` names.
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|candidate| modules.contains(candidate))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in &sources {
        let module = module_of(file);
        // `super` is the module's parent, for `a/b.rs` and `a/b/mod.rs` alike.
        let parent = module
            .rsplit_once("::")
            .map_or(String::new(), |(parent, _)| parent.to_string());
        let mut named: Vec<String> = crate_paths(code);
        for (i, _) in code.match_indices("super::") {
            let rest: String = code[i + "super::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let rest = rest.trim_end_matches(':');
            named.push(if parent.is_empty() {
                rest.to_string()
            } else {
                format!("{parent}::{rest}")
            });
        }
        for path in named {
            if let Some(target) = resolve(&path) {
                // A module may use its own parent's items (mod.rs re-exports).
                if target != module && !module.starts_with(&format!("{target}::")) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in &modules {
        let cycle = visit(module, &edges, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut files = Vec::new();
    collect(&src_dir(), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|path| (path, std::fs::read_to_string(path).unwrap().lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(path, lines)| format!("{}: {lines} lines", path.display()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_function_is_over_80_lines() {
    let mut files = Vec::new();
    collect(&src_dir(), &mut files);
    let mut long = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            let indent = &line[..line.len() - code.len()];
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
            ]
            .iter()
            .any(|prefix| code.starts_with(prefix));
            if !is_fn || code.ends_with(';') {
                continue;
            }
            // The function ends at the first `}` line at its own indentation.
            let closing = format!("{indent}}}");
            if let Some(end) = lines[start..].iter().position(|l| *l == closing) {
                if end + 1 > MAX_FUNCTION_LINES {
                    long.push(format!(
                        "{}:{}: {} lines",
                        path.display(),
                        start + 1,
                        end + 1
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn sql_engines_and_file_names_stay_in_their_places() {
    let mut rusqlite_outside = Vec::new();
    let mut database_name = Vec::new();
    let mut client_builders = Vec::new();
    for (file, code) in library_sources() {
        if code.contains("rusqlite") && !file.starts_with("store/") {
            rusqlite_outside.push(file.clone());
        }
        if code.contains("\"gatehouse.sqlite\"") {
            database_name.push(file.clone());
        }
        if code.contains("Client::builder()") {
            client_builders.push(file);
        }
    }
    assert!(
        rusqlite_outside.is_empty(),
        "rusqlite outside store/: {rusqlite_outside:?}"
    );
    assert_eq!(
        database_name,
        ["infra/data_dir.rs"],
        "the database's file name"
    );
    assert_eq!(client_builders, ["infra/http.rs"], "outbound HTTP clients");
}

/// Cargo.toml's per-package optimisation, which a manifest edit (say
/// `cargo add`) once dropped unnoticed: without it every test that starts
/// a gatehouse spends seconds generating RSA keys unoptimised (the suite
/// took five times as long), and the release build's SQLite, the store's
/// hot path, loses its full optimisation (BENCHMARKS.md's numbers).
#[test]
fn the_manifest_keeps_its_per_package_optimisation() {
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap(),
    )
    .unwrap();
    for (profile, package) in [
        ("dev", "num-bigint-dig"),
        ("dev", "rsa"),
        ("release", "libsqlite3-sys"),
    ] {
        let level = manifest
            .get("profile")
            .and_then(|p| p.get(profile))
            .and_then(|p| p.get("package"))
            .and_then(|p| p.get(package))
            .and_then(|p| p.get("opt-level"));
        assert_eq!(
            level.and_then(toml::Value::as_integer),
            Some(3),
            "Cargo.toml: [profile.{profile}.package.{package}] opt-level = 3 is missing"
        );
    }
}

//! The manual's configuration reference (docs/configuration/reference.md)
//! is generated from config.toml.example, which a unit test keeps equal to
//! the configuration structs (every key, every default). So the reference
//! cannot drift from the code: this test fails when it differs from what the
//! example file gives, and `UPDATE_MANUAL=1` rewrites it.

use std::fmt::Write;

use super::{docs, read, root};

const REFERENCE: &str = "configuration/reference.md";

/// One key of the example file: its dotted path, its value as written, and
/// whether it is set (a default) or only shown commented out (unset).
struct Key {
    path: String,
    value: String,
    set: bool,
}

/// Keys documented by one comment block, with an example block (an array
/// of tables shown commented out) when there is one.
#[derive(Default)]
struct Entry {
    keys: Vec<Key>,
    prose: Vec<String>,
    example: Vec<String>,
}

#[derive(Default)]
struct Section {
    name: String,
    prose: Vec<String>,
    entries: Vec<Entry>,
}

/// Reads config.toml.example: its opening comment, then per `[section]` the
/// comment above it and the entries in it.
struct Parser {
    sections: Vec<Section>,
    pending: Entry,
    in_example: bool,
    /// A table shown commented out (`# [server.tls]`): the commented keys
    /// under it are its keys, until the comment block ends.
    commented_table: Option<String>,
}

impl Parser {
    fn parse(example: &str) -> (Vec<String>, Vec<Section>) {
        let mut lines = example.lines();
        let intro: Vec<String> = lines
            .by_ref()
            .take_while(|l| !l.trim().is_empty())
            .map(uncomment)
            .collect();
        let mut parser = Parser {
            sections: vec![Section::default()],
            pending: Entry::default(),
            in_example: false,
            commented_table: None,
        };
        for line in lines {
            parser.line(line);
        }
        parser.flush();
        (intro, parser.sections)
    }

    fn line(&mut self, line: &str) {
        if line.trim().is_empty() {
            self.flush();
            self.pending = Entry::default();
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            self.flush();
            let prose = std::mem::take(&mut self.pending.prose);
            self.sections.push(Section {
                name: name.to_string(),
                prose,
                entries: Vec::new(),
            });
        } else if line.starts_with('#') {
            let text = uncomment(line);
            let table = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
            if self.in_example || text.starts_with("[[") {
                self.in_example = true;
                self.pending.example.push(text);
            } else if let Some(table) = table.filter(|t| !t.contains(' ')) {
                self.commented_table = Some(table.to_string());
            } else if let Some((key, value)) = key_value(&text) {
                self.pending.keys.push(self.key(key, value, false));
            } else {
                // Prose after keys describes the next ones.
                if !self.pending.keys.is_empty() {
                    self.flush();
                }
                self.pending.prose.push(text);
            }
        } else {
            let (key, value) = key_value(line).unwrap_or_else(|| panic!("not a key: {line}"));
            self.in_example = false;
            self.pending.keys.push(self.key(key, value, true));
        }
    }

    fn key(&self, key: &str, value: &str, set: bool) -> Key {
        let section = match (&self.commented_table, set) {
            (Some(table), false) => table,
            _ => &self.sections.last().expect("a section").name,
        };
        let path = match section.as_str() {
            "" => key.to_string(),
            section => format!("{section}.{key}"),
        };
        Key {
            path,
            value: value.to_string(),
            set,
        }
    }

    fn flush(&mut self) {
        self.in_example = false;
        self.commented_table = None;
        if !self.pending.keys.is_empty() {
            let entry = std::mem::take(&mut self.pending);
            self.sections
                .last_mut()
                .expect("a section")
                .entries
                .push(entry);
        }
    }
}

/// A comment line's text: without `#` and one space.
fn uncomment(line: &str) -> String {
    let text = line.strip_prefix('#').unwrap_or(line);
    text.strip_prefix(' ').unwrap_or(text).to_string()
}

/// `key = value` with a bare key and a value TOML can read.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(" = ")?;
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let parses = toml::from_str::<toml::Table>(&format!("v = {value}")).is_ok();
    (bare && parses).then_some((key, value))
}

/// What kind of value `value` (TOML) is, in words.
fn kind(value: &str) -> &'static str {
    let table: toml::Table = toml::from_str(&format!("v = {value}")).expect("a TOML value");
    match &table["v"] {
        toml::Value::String(s) if is_duration(s) => "duration",
        toml::Value::String(_) => "string",
        toml::Value::Integer(_) => "integer",
        toml::Value::Float(_) => "number",
        toml::Value::Boolean(_) => "boolean",
        toml::Value::Array(_) => "list",
        toml::Value::Table(_) => "table",
        toml::Value::Datetime(_) => "date",
    }
}

fn is_duration(text: &str) -> bool {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let unit = &text[digits..];
    digits > 0 && ["ms", "s", "m", "h", "d", "days", "day", "w", "weeks"].contains(&unit)
}

/// `GATEHOUSE_SERVER__LISTEN` for `server.listen`.
fn environment(path: &str) -> String {
    format!("GATEHOUSE_{}", path.replace('.', "__").to_uppercase())
}

/// Comment text as Markdown: `<` escaped (`<key>_file` is no HTML tag);
/// lines indented in the comment are examples, kept as a block.
fn prose(out: &mut String, lines: &[String]) {
    let mut in_block = false;
    for line in lines {
        let indented = line.starts_with("  ");
        if indented != in_block {
            out.push_str(if indented { "\n```text\n" } else { "```\n\n" });
            in_block = indented;
        }
        if indented {
            writeln!(out, "{}", line.trim()).unwrap();
        } else {
            writeln!(out, "{}", line.replace('<', "&lt;")).unwrap();
        }
    }
    if in_block {
        out.push_str("```\n");
    }
}

/// The reference page for `example` (config.toml.example's text).
pub fn generate(example: &str) -> String {
    let (intro, sections) = Parser::parse(example);
    let mut out = String::from("# Reference: every key\n\n");
    out.push_str(
        "<!-- Generated from config.toml.example by tests/api/manual/reference.rs: do not edit.\n     \
         Regenerate: UPDATE_MANUAL=1 cargo test --test api manual:: -->\n\n",
    );
    out.push_str(
        "Every setting, with its default, from `config.toml.example` (shipped \
         with gatehouse; a test keeps it equal to the code). A key shown \
         \"unset\" has no default: its example is what a value looks like.\n\n",
    );
    prose(&mut out, &intro);
    for section in &sections {
        let title = match section.name.as_str() {
            "" => "Top level".to_string(),
            name => format!("`[{name}]`"),
        };
        write!(out, "\n## {title}\n").unwrap();
        if !section.prose.is_empty() {
            out.push('\n');
            prose(&mut out, &section.prose);
        }
        for entry in &section.entries {
            entry_markdown(&mut out, entry);
        }
    }
    out
}

fn entry_markdown(out: &mut String, entry: &Entry) {
    let names: Vec<String> = entry.keys.iter().map(|k| format!("`{}`", k.path)).collect();
    write!(out, "\n### {}\n\n", names.join(", ")).unwrap();
    for key in &entry.keys {
        let value = if key.set {
            format!("default `{}`", key.value)
        } else {
            format!("unset; for example `{}`", key.value)
        };
        writeln!(
            out,
            "- `{}`: {}, {value}; environment `{}`",
            key.path,
            kind(&key.value),
            environment(&key.path)
        )
        .unwrap();
    }
    out.push('\n');
    prose(out, &entry.prose);
    if !entry.example.is_empty() {
        write!(out, "\n```toml\n{}\n```\n", entry.example.join("\n")).unwrap();
    }
}

/// Every key the reference shows: (path, value as written, has a default).
fn keys(example: &str) -> Vec<(String, String, bool)> {
    let (_, sections) = Parser::parse(example);
    sections
        .iter()
        .flat_map(|s| &s.entries)
        .flat_map(|e| &e.keys)
        .map(|k| (k.path.clone(), k.value.clone(), k.set))
        .collect()
}

#[test]
fn the_configuration_reference_is_generated_from_config_toml_example() {
    let expected = generate(&read(&root().join("config.toml.example")));
    let path = docs().join(REFERENCE);
    if std::env::var_os("UPDATE_MANUAL").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/{REFERENCE} is not what config.toml.example gives: regenerate it with \
         `UPDATE_MANUAL=1 cargo test --test api manual::` and commit it"
    );
}

#[test]
fn the_generator_reads_keys_defaults_and_unset_examples() {
    let page = generate(
        "# Intro.\n\n[server]\n# Where it listens.\nlisten = \"127.0.0.1:1\"\n\n\
         # A file, unset.\n# cert_file = \"/x.pem\"\n# Then a number.\nport = 3\n",
    );
    assert!(page.contains("## `[server]`"), "{page}");
    assert!(
        page.contains(
            "- `server.listen`: string, default `\"127.0.0.1:1\"`; environment \
             `GATEHOUSE_SERVER__LISTEN`"
        ),
        "{page}"
    );
    assert!(page.contains("unset; for example `\"/x.pem\"`"), "{page}");
    assert!(page.contains("Where it listens."), "{page}");
    // Each entry keeps its own comment: prose after a commented-out key
    // describes the next key.
    let cert = page.find("### `server.cert_file`").expect("cert_file");
    let port = page.find("### `server.port`").expect("port");
    assert!(page[cert..port].contains("A file, unset."), "{page}");
    assert!(!page[cert..port].contains("Then a number."), "{page}");
    assert!(page[port..].contains("Then a number."), "{page}");
}

#[test]
fn every_unset_key_in_the_reference_is_one_gatehouse_knows() {
    // The set keys are the structs' own (a unit test compares them); the
    // unset ones are only comments, so each is tried alone here.
    let dir = tempfile::tempdir().unwrap();
    let mut unknown = Vec::new();
    let example = read(&root().join("config.toml.example"));
    let unset: Vec<_> = keys(&example)
        .into_iter()
        .filter(|(_, _, set)| !set)
        .collect();
    assert!(unset.len() > 20, "only {} unset keys found", unset.len());
    for (path, value, _) in unset {
        let toml = match path.rsplit_once('.') {
            Some((section, key)) => format!("[{section}]\n{key} = {value}\n"),
            None => format!("{path} = {value}\n"),
        };
        let output = super::snippets::check_config(&toml, dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("unknown key") {
            unknown.push(format!("{path}: {}", stderr.trim()));
        }
    }
    assert!(
        unknown.is_empty(),
        "keys config.toml.example shows that gatehouse does not know:\n{}",
        unknown.join("\n")
    );
}

//! The path of a request as the upstream behind a reverse proxy will serve
//! it. Forward-auth rules are matched against this, never against the raw
//! text the proxy reports: nginx merges `//admin` into `/admin` when it
//! picks a location, and many frameworks decode `%61` and resolve `..`, so
//! a rule checked on the raw text can be dodged.

use std::fmt;

/// An absolute path with unreserved characters decoded, `.` and `..`
/// resolved and repeated slashes merged; the query is dropped. Any other
/// percent-escape stays, with upper-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestPathError {
    #[error("the path must start with /")]
    NotAbsolute,
    #[error("the path holds a space, a control character, \\, # or a non-ASCII byte unencoded")]
    RawCharacter,
    #[error("the path holds a malformed percent-escape")]
    BadEscape,
    #[error("the path holds an encoded /, \\ or NUL")]
    EncodedSeparator,
    #[error("the path climbs above the root with ..")]
    AboveRoot,
    #[error("the path holds a dot segment with parameters (such as ..;)")]
    DotWithParameters,
}

impl RequestPath {
    /// Parses a request target (`/a/b?q`) or a bare path.
    pub fn parse(target: &str) -> Result<RequestPath, RequestPathError> {
        let path = target.split('?').next().unwrap_or_default();
        let rest = path
            .strip_prefix('/')
            .ok_or(RequestPathError::NotAbsolute)?;
        // `\` is a separator to Windows and some frameworks, and what
        // follows `#` is cut by some: either would let the upstream see
        // another path than the one checked here.
        if path
            .bytes()
            .any(|b| !b.is_ascii_graphic() || b == b'\\' || b == b'#')
        {
            return Err(RequestPathError::RawCharacter);
        }
        let mut segments: Vec<String> = Vec::new();
        // Whether the path ends in a slash (also after a final `.` or `..`).
        let mut trailing_slash = false;
        for raw in rest.split('/') {
            let segment = decode_unreserved(raw)?;
            trailing_slash = true;
            match segment.as_str() {
                "" | "." => {}
                ".." => {
                    segments.pop().ok_or(RequestPathError::AboveRoot)?;
                }
                // Tomcat and Spring read `..;x` as `..`.
                s if matches!(s.split(';').next(), Some("." | "..")) => {
                    return Err(RequestPathError::DotWithParameters)
                }
                _ => {
                    segments.push(segment);
                    trailing_slash = false;
                }
            }
        }
        let mut normal = format!("/{}", segments.join("/"));
        if trailing_slash && !segments.is_empty() {
            normal.push('/');
        }
        Ok(RequestPath(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes `%XX` where XX is an unreserved character (RFC 3986 2.3); other
/// escapes stay, upper-cased, except `/`, `\` and NUL, which are refused.
fn decode_unreserved(segment: &str) -> Result<String, RequestPathError> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).ok_or(RequestPathError::BadEscape)?;
        let hex = std::str::from_utf8(hex).map_err(|_| RequestPathError::BadEscape)?;
        let byte = u8::from_str_radix(hex, 16).map_err(|_| RequestPathError::BadEscape)?;
        match byte {
            b'/' | b'\\' | 0 => return Err(RequestPathError::EncodedSeparator),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
        i += 3;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn normal(target: &str) -> String {
        RequestPath::parse(target)
            .unwrap_or_else(|e| panic!("{target}: {e}"))
            .to_string()
    }

    #[test]
    fn paths_that_reach_the_same_resource_read_the_same() {
        for (target, expected) in [
            ("/admin/u", "/admin/u"),
            ("//admin/u", "/admin/u"),
            ("/admin//u", "/admin/u"),
            ("/%61dmin/u", "/admin/u"),
            ("/%41%2d%2E%5f%7e", "/A-._~"),
            ("/x/../admin/u", "/admin/u"),
            ("/x/%2e%2E/admin/u", "/admin/u"),
            ("/./admin/./u", "/admin/u"),
            ("/admin/u?x=/../pub", "/admin/u"),
            ("/admin/", "/admin/"),
            ("/admin/u/..", "/admin/"),
            ("/admin/.", "/admin/"),
            ("/", "/"),
            ("/a..b/.x", "/a..b/.x"),
            // Reserved and other characters stay encoded, in one spelling.
            ("/caf%c3%a9/%3f%25", "/caf%C3%A9/%3F%25"),
        ] {
            assert_eq!(normal(target), expected, "{target}");
        }
    }

    #[test]
    fn paths_an_upstream_could_read_otherwise_are_refused() {
        use RequestPathError as E;
        for (target, error) in [
            ("", E::NotAbsolute),
            ("admin/u", E::NotAbsolute),
            ("http://host/admin", E::NotAbsolute),
            ("*", E::NotAbsolute),
            ("/admin%2Fu", E::EncodedSeparator),
            ("/admin%2fu", E::EncodedSeparator),
            ("/admin%5Cu", E::EncodedSeparator),
            ("/admin%00", E::EncodedSeparator),
            ("/admin\\u", E::RawCharacter),
            ("/admin u", E::RawCharacter),
            ("/admin\tu", E::RawCharacter),
            ("/pub#/../../admin", E::RawCharacter),
            ("/caf\u{e9}", E::RawCharacter),
            ("/admin%", E::BadEscape),
            ("/admin%6", E::BadEscape),
            ("/admin%zz", E::BadEscape),
            ("/..", E::AboveRoot),
            ("/../admin", E::AboveRoot),
            ("/x/%2e%2e/%2e%2e/admin", E::AboveRoot),
            ("/x/..;/admin", E::DotWithParameters),
            ("/x/.;a/admin", E::DotWithParameters),
        ] {
            assert_eq!(RequestPath::parse(target), Err(error), "{target:?}");
        }
    }

    proptest! {
        /// Whatever comes in, what comes out is already normal: no empty,
        /// `.` or `..` segment, and parsing it again changes nothing.
        #[test]
        fn normal_paths_are_a_fixed_point(target in "[/.a%2eEfF5c;?]{0,24}") {
            if let Ok(path) = RequestPath::parse(&target) {
                let text = path.as_str();
                prop_assert!(text.starts_with('/'));
                prop_assert!(!text.contains("//"), "{}", text);
                for segment in text.split('/') {
                    prop_assert!(segment != "." && segment != "..", "{}", text);
                }
                prop_assert_eq!(RequestPath::parse(text), Ok(path.clone()));
            }
        }
    }
}

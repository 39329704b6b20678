//! The client's own `logo_uri` on the consent page. Client metadata is
//! written by whoever registers the client, so the URL is taken only when
//! it is plain `https` and can stand in the page's policy as one exact
//! source: the policy is widened for that one image on that one response,
//! never for a scheme or a whole host, and nothing in the URL can add a
//! directive (`;`), a second source (`,`, space) or a keyword (`'`).

use axum::http::HeaderValue;
use url::Url;

use super::views::CONTENT_SECURITY_POLICY;

/// Longer than any real logo address; keeps the header small.
const MAX_LENGTH: usize = 2048;

/// A logo the consent page may show.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientLogo {
    /// What `<img src>` gets: the URL as the client gave it, normalised.
    pub src: String,
    /// The policy source matching it: scheme, host, port and path (a
    /// source expression has no query; matching ignores it).
    source: String,
}

impl ClientLogo {
    /// The client's `logo_uri`, or `None` when it is empty or not safe
    /// to show (not https, credentials in it, characters a policy would
    /// read as syntax).
    pub fn from_client(logo_uri: &str) -> Option<ClientLogo> {
        let logo_uri = logo_uri.trim();
        // The URL parser would drop a newline or tab silently; refuse it.
        let odd = |b: u8| b.is_ascii_control() || b.is_ascii_whitespace();
        if logo_uri.is_empty() || logo_uri.len() > MAX_LENGTH || logo_uri.bytes().any(odd) {
            return None;
        }
        let url = Url::parse(logo_uri).ok()?;
        let plain = url.scheme() == "https"
            && url.host_str().is_some()
            && url.username().is_empty()
            && url.password().is_none();
        if !plain {
            return None;
        }
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let source = bare.to_string();
        let safe = |text: &str| {
            text.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"' | b'\\'))
        };
        let src = url.to_string();
        (safe(&source) && safe(&src)).then_some(ClientLogo { src, source })
    }

    /// The pages' policy with this one image allowed.
    pub fn content_security_policy(&self) -> HeaderValue {
        let images = "img-src 'self' data:";
        let widened = CONTENT_SECURITY_POLICY.replace(images, &format!("{images} {}", self.source));
        HeaderValue::from_str(&widened).expect("checked to be visible ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(uri: &str) -> String {
        let logo = ClientLogo::from_client(uri).expect("shown");
        logo.content_security_policy().to_str().unwrap().to_string()
    }

    #[test]
    fn an_https_logo_is_allowed_as_one_exact_source() {
        let logo = ClientLogo::from_client("https://cdn.example.com/acme/logo.png?v=3").unwrap();
        assert_eq!(logo.src, "https://cdn.example.com/acme/logo.png?v=3");
        let policy = policy("https://cdn.example.com/acme/logo.png?v=3");
        assert!(
            policy.contains("img-src 'self' data: https://cdn.example.com/acme/logo.png;"),
            "{policy}"
        );
        assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));
    }

    #[test]
    fn anything_but_plain_https_is_not_shown() {
        for uri in [
            "",
            "http://cdn.example.com/logo.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://user:pass@cdn.example.com/logo.png",
            "/relative/logo.png",
            "https://cdn.example.com/lo\ngo.png",
        ] {
            assert_eq!(ClientLogo::from_client(uri), None, "{uri}");
        }
        let long = format!("https://cdn.example.com/{}", "a".repeat(MAX_LENGTH));
        assert_eq!(ClientLogo::from_client(&long), None);
    }

    #[test]
    fn a_crafted_uri_cannot_add_a_directive_or_a_source() {
        for uri in [
            "https://cdn.example.com/x.png; script-src 'unsafe-inline'",
            "https://cdn.example.com/x.png;script-src%20*",
            "https://cdn.example.com/x.png,https://evil.example",
            "https://cdn.example.com/x'.png",
            "https://cdn.example.com/x.png\tscript-src *",
            "https://cdn.example.com/x.png?a=1;script-src%20*",
        ] {
            if let Some(logo) = ClientLogo::from_client(uri) {
                let policy = logo.content_security_policy();
                let policy = policy.to_str().unwrap();
                assert_eq!(policy.matches(';').count(), 4, "{uri} -> {policy}");
                assert!(!policy.contains("script-src"), "{uri} -> {policy}");
                assert!(!policy.contains("evil"), "{uri} -> {policy}");
            }
        }
    }
}

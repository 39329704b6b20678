//! Reading a cookie the browser sent. Only the first cookie of a name
//! counts: a second one (planted by a sibling subdomain on plain-named
//! cookies, or sent twice) never replaces it.

use axum::http::{header, HeaderMap};

/// The value of the first cookie named `name` in any `Cookie` header.
pub fn first(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::first;
    use axum::http::{header, HeaderMap, HeaderValue};

    #[test]
    fn the_first_cookie_of_a_name_counts_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=3; c="));
        assert_eq!(first(&headers, "b").as_deref(), Some("2"));
        assert_eq!(first(&headers, "c").as_deref(), Some(""));
        assert_eq!(first(&headers, "d"), None);
        assert_eq!(first(&headers, "a=1"), None);
    }
}

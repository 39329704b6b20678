//! Answers of gatehouse's JSON API, read the same way by every API test.

use reqwest::StatusCode;
use serde_json::Value;

/// An answer of the API: status, headers, the JSON body and its raw text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: the body is not JSON: {text:?}"));
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts an error answer: status, `error`, a description, no caching.
    pub fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert!(
            self.body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            self.body
        );
        assert_eq!(self.headers["cache-control"], "no-store");
    }

    /// Asserts the error description names `field` (one that is missing).
    pub fn assert_names(&self, field: &str) {
        assert!(
            self.body["error_description"]
                .as_str()
                .unwrap()
                .contains(field),
            "names the missing field: {}",
            self.body
        );
    }
}

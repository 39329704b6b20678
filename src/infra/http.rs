//! Reading the JSON object a service gatehouse calls answers with (the user
//! directory, the legacy-session verifier), without buffering a runaway body.

use serde_json::{Map, Value};

#[derive(Debug)]
pub enum AnswerError {
    /// The body stopped arriving (timeout, reset, ...).
    Transport(reqwest::Error),
    /// The body is longer than the limit given.
    TooLarge { limit: usize },
    /// The body is not one JSON object.
    NotAnObject,
}

/// The response body as a JSON object, refused past `limit` bytes.
pub async fn json_object(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Map<String, Value>, AnswerError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(AnswerError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(AnswerError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(AnswerError::NotAnObject),
    }
}

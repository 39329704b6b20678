//! Hydra's output: each JSON line into gatehouse's log under target
//! `hydra`, and the last few kept to explain a failed start.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Log lines kept to explain a failed start.
pub(super) const RECENT_LINES: usize = 20;

pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last few Hydra log lines, to explain a failed start.
#[derive(Clone, Default)]
pub(super) struct RecentLines(Arc<Mutex<VecDeque<String>>>);

impl RecentLines {
    pub(super) fn push(&self, line: &str) {
        let mut lines = self.0.lock().expect("log buffer lock");
        if lines.len() == RECENT_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_string());
    }

    pub(super) fn joined(&self) -> String {
        let lines = self.0.lock().expect("log buffer lock");
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// Forwards Hydra's JSON log lines into gatehouse's log under target `hydra`.
pub(super) async fn forward_logs(stream: impl AsyncRead + Unpin, recent: RecentLines) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        recent.push(&line);
        emit_hydra_line(&line);
    }
}

fn emit_hydra_line(line: &str) {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(line) else {
        tracing::info!(target: "hydra", "{line}");
        return;
    };
    let level = fields
        .remove("level")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let msg = fields
        .remove("msg")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    fields.remove("time");
    let rest = serde_json::Value::Object(fields).to_string();
    // Hydra logs every request twice at info; that is debug detail here.
    let per_request = matches!(
        msg.as_str(),
        "started handling request" | "completed handling request"
    );
    match level.as_str() {
        _ if per_request => tracing::debug!(target: "hydra", details = %rest, "{msg}"),
        "trace" | "debug" => tracing::debug!(target: "hydra", details = %rest, "{msg}"),
        "warning" | "warn" => tracing::warn!(target: "hydra", details = %rest, "{msg}"),
        "error" | "fatal" | "panic" => tracing::error!(target: "hydra", details = %rest, "{msg}"),
        _ => tracing::info!(target: "hydra", details = %rest, "{msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    #[test]
    fn recent_lines_are_bounded() {
        let recent = RecentLines::default();
        for i in 0..(RECENT_LINES + 5) {
            recent.push(&i.to_string());
        }
        let joined = recent.joined();
        assert!(joined.starts_with("5\n"), "{joined}");
        assert_eq!(joined.lines().count(), RECENT_LINES);
    }
}

//! Hydra's output: each JSON line into gatehouse's log under target
//! `hydra`, and the last few kept to explain a failed start.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

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

/// The two fields a line is sorted by, read without copying.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    level: Cow<'a, str>,
    #[serde(borrow, default)]
    msg: Cow<'a, str>,
}

/// A line's other fields as JSON, made only when its event is logged:
/// Hydra writes two lines per request, which gatehouse logs at debug, so
/// by default they cost one pass to read the level and the message.
struct Details<'a>(&'a str);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(self.0) else {
            return Ok(());
        };
        for known in ["level", "msg", "time"] {
            fields.remove(known);
        }
        write!(f, "{}", serde_json::Value::Object(fields))
    }
}

fn emit_hydra_line(line: &str) {
    let Ok(head) = serde_json::from_str::<Head>(line) else {
        tracing::info!(target: "hydra", "{line}");
        return;
    };
    let (msg, details) = (head.msg.as_ref(), Details(line));
    // Hydra logs every request twice at info; that is debug detail here.
    let per_request = matches!(
        msg,
        "started handling request" | "completed handling request"
    );
    match head.level.as_ref() {
        _ if per_request => tracing::debug!(target: "hydra", details = %details, "{msg}"),
        "trace" | "debug" => tracing::debug!(target: "hydra", details = %details, "{msg}"),
        "warning" | "warn" => tracing::warn!(target: "hydra", details = %details, "{msg}"),
        "error" | "fatal" | "panic" => {
            tracing::error!(target: "hydra", details = %details, "{msg}")
        }
        _ => tracing::info!(target: "hydra", details = %details, "{msg}"),
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

    /// What `lines` become in gatehouse's log with `level` enabled.
    fn logged(level: tracing::Level, lines: &[&str]) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let out = out.clone();
            move || Sink(out.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            lines.iter().for_each(|l| emit_hydra_line(l))
        });
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn hydra_lines_keep_their_level_and_details_and_requests_go_to_debug() {
        let lines = [
            r#"{"level":"info","msg":"Setting up http server","time":"t1","port":4444}"#,
            r#"{"level":"warning","msg":"disk \"slow\"","time":"t2"}"#,
            r#"{"level":"error","msg":"boom","audience":"application"}"#,
            r#"{"level":"info","msg":"completed handling request","http_request":{"path":"/x"}}"#,
            "not json at all",
        ];
        let info = logged(tracing::Level::INFO, &lines);
        assert!(
            info.contains(r#"INFO hydra: Setting up http server details={"port":4444}"#),
            "{info}"
        );
        assert!(
            info.contains(r#"WARN hydra: disk "slow" details={}"#),
            "{info}"
        );
        assert!(
            info.contains(r#"ERROR hydra: boom details={"audience":"application"}"#),
            "{info}"
        );
        assert!(info.contains("INFO hydra: not json at all"), "{info}");
        assert!(
            !info.contains("handling request"),
            "per request lines are debug: {info}"
        );
        assert!(!info.contains("t1"), "the time is gatehouse's own: {info}");
        let debug = logged(tracing::Level::DEBUG, &lines);
        assert!(
            debug.contains(
                r#"DEBUG hydra: completed handling request details={"http_request":{"path":"/x"}}"#
            ),
            "{debug}"
        );
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

//! What the binary writes when its logs go into a pipe or a file (the
//! journal): plain text, without terminal colour codes.

use std::time::Duration;

use super::Running;
use crate::helpers::{wait_ready, WebhookSink};

#[tokio::test]
async fn text_logs_into_a_file_hold_no_escape_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let sms = WebhookSink::start(200).await;
    let running = Running::start(
        dir.path(),
        &sms,
        &[],
        &[
            ("GATEHOUSE_LOG__FORMAT", "text"),
            ("GATEHOUSE_LOG__LEVEL", "info"),
        ],
    );
    wait_ready(&running.address, Duration::from_secs(90)).await;
    let logs = running.stderr();
    assert!(logs.contains("gatehouse is serving"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "escape sequences in the log: {:?}",
        logs.lines().find(|line| line.contains('\u{1b}'))
    );
}

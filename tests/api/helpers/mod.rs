//! The harness: a real gatehouse with a real supervised Hydra (`app`), the
//! real binary as an operator runs it (`binary`), an HTTP sink that captures
//! webhook calls (`sink`), a cookie-keeping HTTP browser (`http_browser`) and
//! an OAuth client (`oauth`) for the code flow, the tests' fixture (`world`,
//! with the headless API in `headless`), headless Chromium over WebDriver
//! (`chromium`), a throwaway PostgreSQL server (`postgres`) and /proc
//! (`process`).

pub mod answer;
pub mod app;
pub mod binary;
pub mod chromium;
pub mod headless;
pub mod http_browser;
pub mod oauth;
pub mod postgres;
pub mod process;
pub mod sink;
pub mod test_ca;
pub mod world;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use app::{free_port, http_client, hydra_binary, test_config, wait_ready, TestApp};
pub use process::{children_of, process_is_gone};
pub use sink::{ReceivedRequest, WebhookSink};

/// Polls `check` every 100 ms until it holds, or panics with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what} (waited {limit:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Captures every log line (all levels) written on this thread: the test's
/// own runtime, on which gatehouse and its Hydra supervisor run.
pub fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Writer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Writer(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

//! The harness: a real gatehouse with a real supervised Hydra (`app`), the
//! real binary as an operator runs it (`binary`), an HTTP sink that captures
//! webhook calls (`sink`), a cookie-keeping HTTP browser (`http_browser`) and
//! an OAuth client (`oauth`) for the code flow, the tests' fixture (`world`,
//! with the headless API in `headless`), headless Chromium over WebDriver
//! (`chromium`), a throwaway PostgreSQL server (`postgres`) and /proc
//! (`process`).

pub mod answer;
pub mod app;
pub mod axe;
pub mod binary;
pub mod chromium;
pub mod headless;
pub mod http_browser;
pub mod oauth;
pub mod postgres;
pub mod process;
pub mod sink;
pub mod test_ca;
pub mod white_box;
pub mod world;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use app::{
    free_port, http_client, hydra_binary, outbox_drained, test_config, wait_ready, TestApp,
};
pub use process::{children_of, process_is_gone};
pub use sink::{ReceivedRequest, WebhookSink};

/// A person-visible text in English (`locales/en/gatehouse.ftl`), as the
/// pages show it to a browser that asks for no other language.
pub fn english(key: &str) -> String {
    gatehouse::i18n::text(key, None)
}

/// Polls `check` every 100 ms until it holds, or panics with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what} (waited {limit:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the capturing thread's log lines go (None: this thread captures nothing).
type LogBuffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static CAPTURED: std::cell::RefCell<Option<LogBuffer>> = const { std::cell::RefCell::new(None) };
}

/// Ends a [`capture_logs`] when dropped.
pub struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURED.with(|captured| captured.borrow_mut().take());
    }
}

/// Captures every log line (all levels) written on this thread: the test's
/// own runtime, on which gatehouse and its Hydra supervisor run.
///
/// One global subscriber serves every test in the binary and writes only on
/// threads that capture. (A subscriber set per thread raced with tests
/// running at the same time: tracing caches whether anyone listens to a log
/// call site, and a test's INFO lines could be missed.)
pub fn capture_logs() -> (LogBuffer, CaptureGuard) {
    init_logging();
    let buffer = LogBuffer::default();
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(buffer.clone()));
    (buffer, CaptureGuard)
}

/// The test binary's one global log subscriber: WARN and up (or RUST_LOG)
/// to the test output, and everything to a capturing thread's buffer.
/// Every harness entry point (TestApp, StandaloneOtp, capture_logs) calls
/// it first, so it is in place before gatehouse logs anything.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    struct ThreadWriter;
    impl std::io::Write for ThreadWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURED.with(|captured| {
                if let Some(buffer) = captured.borrow().as_ref() {
                    buffer.lock().unwrap().extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Decided per event (the answer changes with the thread): a dynamic
        // filter, so no call site is ever cached as unwanted.
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
            CAPTURED.with(|captured| captured.borrow().is_some())
        });
        let capture = tracing_subscriber::fmt::layer()
            .without_time()
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            .with_filter(capturing);
        let shown = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let output = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(shown);
        tracing_subscriber::registry()
            .with(capture)
            .with(output)
            .try_init()
            .expect("no other global log subscriber in the test binary");
    });
}

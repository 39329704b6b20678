//! Prometheus metrics, served as text on their own listener (`[metrics]
//! listen`, off by default) so they never show on the public port.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

type Labels = Vec<(&'static str, String)>;

/// How many times the supervised Hydra was restarted, read when scraped.
pub type RestartCount = Box<dyn Fn() -> u32 + Send>;

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    codes: Family<Labels, Counter>,
    verifications: Family<Labels, Counter>,
    rate_limited: Family<Labels, Counter>,
    sms_refused: Family<Labels, Counter>,
    sign_ins: Family<Labels, Counter>,
    consents: Family<Labels, Counter>,
    forward_auth: Family<Labels, Counter>,
    forward_auth_cache_hits: Counter,
    directory_lookups: Family<Labels, Counter>,
    http: Family<Labels, Histogram>,
    http_own: Family<Labels, Histogram>,
    hydra_restarts: Gauge,
    /// Reads the supervised Hydra's restart count at each scrape.
    hydra_restarts_source: Mutex<Option<RestartCount>>,
}

fn http_histogram() -> Histogram {
    // 1 ms .. about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn own_histogram() -> Histogram {
    // Finer at the low end, where gatehouse's own work should be.
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1,
        0.25, 0.5, 1.0,
    ])
}

tokio::task_local! {
    /// Time the current request has spent waiting on Hydra or the SMS gateway.
    static UPSTREAM_WAIT: Cell<Duration>;
}

/// Awaits `future`, counting its time as waiting on something outside
/// gatehouse (Hydra, the SMS gateway) rather than as gatehouse's own work.
pub async fn upstream<F: Future>(future: F) -> F::Output {
    let started = Instant::now();
    let output = future.await;
    // Outside a request (CLI, jobs) there is nothing to count.
    let _ = UPSTREAM_WAIT.try_with(|wait| wait.set(wait.get() + started.elapsed()));
    output
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gatehouse");
        let r = &mut registry;
        let inner = Inner {
            codes: registered(
                r,
                "otp_codes",
                "Codes requested, by result (sent, failed, withheld)",
                Family::default(),
            ),
            verifications: registered(
                r,
                "otp_verifications",
                "Code verifications, by result",
                Family::default(),
            ),
            rate_limited: registered(
                r,
                "otp_rate_limited",
                "Code requests refused by an abuse limit, by limit",
                Family::default(),
            ),
            sms_refused: registered(
                r,
                "sms_refused",
                "Code requests refused before any text was sent, by rule (e.g. bot_challenge_missing)",
                Family::default(),
            ),
            sign_ins: registered(r, "sign_ins", "Sign-ins, by flow and result", Family::default()),
            consents: registered(r, "consents", "Consent decisions, by result", Family::default()),
            forward_auth: registered(
                r,
                "forward_auth_decisions",
                "Forward-auth answers, by result",
                Family::default(),
            ),
            forward_auth_cache_hits: registered(
                r,
                "forward_auth_cache_hits",
                "Forward-auth answers served from the cache",
                Counter::default(),
            ),
            directory_lookups: registered(
                r,
                "directory_lookups",
                "User directory lookups, by result (found, not_found, unavailable)",
                Family::default(),
            ),
            http: registered(
                r,
                "http_request_duration_seconds",
                "HTTP request durations on the public port, by route, method and status",
                Family::new_with_constructor(http_histogram as fn() -> Histogram),
            ),
            http_own: registered(
                r,
                "http_request_own_duration_seconds",
                "Time gatehouse itself spent on requests on the public port: the duration less \
                 the time waiting on Hydra and the SMS gateway, by route, method and status",
                Family::new_with_constructor(own_histogram as fn() -> Histogram),
            ),
            hydra_restarts: registered(
                r,
                "hydra_restarts",
                "Times the supervised Hydra was restarted",
                Gauge::default(),
            ),
            hydra_restarts_source: Mutex::new(None),
            registry,
        };
        Metrics {
            inner: Arc::new(inner),
        }
    }

    pub fn code(&self, result: &'static str) {
        inc(&self.inner.codes, "result", result);
    }

    pub fn verification(&self, result: &'static str) {
        inc(&self.inner.verifications, "result", result);
    }

    pub fn rate_limited(&self, limit: &'static str) {
        inc(&self.inner.rate_limited, "limit", limit);
    }

    /// A code request refused by a rule of the SMS policy or the bot
    /// challenge (`rule`: which one), before anything was sent.
    pub fn sms_refused(&self, rule: &'static str) {
        inc(&self.inner.sms_refused, "rule", rule);
    }

    pub fn sign_in(&self, flow: &'static str, result: &'static str) {
        self.inner
            .sign_ins
            .get_or_create(&vec![
                ("flow", flow.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }

    pub fn consent(&self, result: &'static str) {
        inc(&self.inner.consents, "result", result);
    }

    pub fn forward_auth(&self, result: &'static str) {
        inc(&self.inner.forward_auth, "result", result);
    }

    pub fn directory_lookup(&self, result: &'static str) {
        inc(&self.inner.directory_lookups, "result", result);
    }

    pub fn forward_auth_cache_hit(&self) {
        self.inner.forward_auth_cache_hits.inc();
    }

    /// Lets the scrape report the supervised Hydra's restarts.
    pub fn watch_hydra_restarts(&self, restarts: RestartCount) {
        if let Ok(mut source) = self.inner.hydra_restarts_source.lock() {
            *source = Some(restarts);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        if let Ok(source) = self.inner.hydra_restarts_source.lock() {
            if let Some(restarts) = source.as_ref() {
                self.inner.hydra_restarts.set(i64::from(restarts()));
            }
        }
        let mut text = String::new();
        if encode(&mut text, &self.inner.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// `metric`, registered under `name` with `help`.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn inc(family: &Family<Labels, Counter>, key: &'static str, value: &'static str) {
    family.get_or_create(&vec![(key, value.to_string())]).inc();
}

/// Middleware: times every request on the public port by its route pattern,
/// in all and without the waits on Hydra and the SMS gateway.
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let (response, waited) = UPSTREAM_WAIT
        .scope(Cell::new(Duration::ZERO), async {
            let response = next.run(request).await;
            (response, UPSTREAM_WAIT.with(Cell::get))
        })
        .await;
    let elapsed = started.elapsed();
    let labels = vec![
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    let inner = &metrics.inner;
    inner
        .http_own
        .get_or_create(&labels)
        .observe(elapsed.saturating_sub(waited).as_secs_f64());
    inner
        .http
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    response
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(State(metrics): State<Metrics>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

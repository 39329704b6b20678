//! Prometheus metrics, served as text on their own listener (`[metrics]
//! listen`, off by default) so they never show on the public port.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
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
    sms_sent: Family<Labels, Counter>,
    sms_verified: Family<Labels, Counter>,
    sms_refused: Family<Labels, Counter>,
    sms_providers: SmsProviderMetrics,
    sign_ins: Family<Labels, Counter>,
    consents: Family<Labels, Counter>,
    forward_auth: Family<Labels, Counter>,
    forward_auth_cache_hits: Counter,
    directory_lookups: Family<Labels, Counter>,
    http: Family<Labels, Histogram>,
    http_own: Family<Labels, Histogram>,
    hydra_restarts: Gauge,
    audit: AuditMetrics,
    /// Reads the supervised Hydra's restart count at each scrape.
    hydra_restarts_source: Mutex<Option<RestartCount>>,
}

/// Each SMS provider's requests, their time, and its delivery receipts.
struct SmsProviderMetrics {
    requests: Family<Labels, Counter>,
    duration: Family<Labels, Histogram>,
    receipts: Family<Labels, Counter>,
}

impl SmsProviderMetrics {
    fn register(r: &mut Registry) -> SmsProviderMetrics {
        SmsProviderMetrics {
            requests: counters(
                r,
                "sms_provider_requests",
                "Requests to each SMS sender, by provider and result (sent, unavailable, \
                 rejected, invalid_number; skipped: not asked while cooling off)",
            ),
            duration: registered(
                r,
                "sms_provider_duration_seconds",
                "How long each SMS sender took to answer, by provider",
                Family::new_with_constructor(http_histogram as fn() -> Histogram),
            ),
            receipts: counters(
                r,
                "sms_delivery_receipts",
                "Delivery receipts, by provider, the number's country and status (delivered, \
                 failed)",
            ),
        }
    }
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
            codes: counters(
                r,
                "otp_codes",
                "Codes requested, by result (sent, failed, withheld)",
            ),
            verifications: counters(r, "otp_verifications", "Code verifications, by result"),
            rate_limited: counters(
                r,
                "otp_rate_limited",
                "Code requests refused by an abuse limit, by limit",
            ),
            sms_sent: counters(
                r,
                "sms_sent",
                "Texts the gateway took, by the number's country",
            ),
            sms_verified: counters(r, "sms_verified", "Codes verified, by the number's country"),
            sms_refused: counters(
                r,
                "sms_refused",
                "Codes refused (mode=enforce) or that would have been (mode=monitor) by an \
                 sms.policy rule, by rule",
            ),
            sms_providers: SmsProviderMetrics::register(r),
            sign_ins: counters(r, "sign_ins", "Sign-ins, by flow and result"),
            consents: counters(r, "consents", "Consent decisions, by result"),
            forward_auth: counters(
                r,
                "forward_auth_decisions",
                "Forward-auth answers, by result",
            ),
            forward_auth_cache_hits: registered(
                r,
                "forward_auth_cache_hits",
                "Forward-auth answers served from the cache",
                Counter::default(),
            ),
            directory_lookups: counters(
                r,
                "directory_lookups",
                "User directory lookups, by result (found, not_found, unavailable)",
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
                 the time waiting on Hydra, by route, method and status",
                Family::new_with_constructor(own_histogram as fn() -> Histogram),
            ),
            hydra_restarts: registered(
                r,
                "hydra_restarts",
                "Times the supervised Hydra was restarted",
                Gauge::default(),
            ),
            audit: AuditMetrics::register(r),
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

    /// `country`: ISO code, or "none" for numbers of no single country.
    pub fn sms_sent(&self, country: &str) {
        inc(&self.inner.sms_sent, "country", country);
    }

    pub fn sms_verified(&self, country: &str) {
        inc(&self.inner.sms_verified, "country", country);
    }

    /// `enforced`: false in monitor mode, where the code was sent anyway.
    pub fn sms_refused(&self, rule: &'static str, enforced: bool) {
        let mode = if enforced { "enforce" } else { "monitor" };
        inc_pair(&self.inner.sms_refused, ("rule", rule), ("mode", mode));
    }

    /// One request to an SMS sender: its result and how long it took.
    pub fn sms_provider_request(
        &self,
        provider: &'static str,
        result: &'static str,
        took: Duration,
    ) {
        let labels = vec![
            ("provider", provider.to_string()),
            ("result", result.to_string()),
        ];
        self.inner
            .sms_providers
            .requests
            .get_or_create(&labels)
            .inc();
        self.inner
            .sms_providers
            .duration
            .get_or_create(&vec![("provider", provider.to_string())])
            .observe(took.as_secs_f64());
    }

    /// An SMS sender left out of an attempt while it cools off.
    pub fn sms_provider_skipped(&self, provider: &'static str) {
        let labels = vec![
            ("provider", provider.to_string()),
            ("result", "skipped".to_string()),
        ];
        self.inner
            .sms_providers
            .requests
            .get_or_create(&labels)
            .inc();
    }

    /// A delivery receipt; `country` as for [`Metrics::sms_sent`].
    pub fn sms_receipt(&self, provider: &str, country: &str, status: &'static str) {
        let labels = vec![
            ("provider", provider.to_string()),
            ("country", country.to_string()),
            ("status", status.to_string()),
        ];
        self.inner
            .sms_providers
            .receipts
            .get_or_create(&labels)
            .inc();
    }

    pub fn sign_in(&self, flow: &'static str, result: &'static str) {
        inc_pair(&self.inner.sign_ins, ("flow", flow), ("result", result));
    }

    /// `kind` and `result`: names from `domain::audit`, a closed set.
    pub fn audit_event(&self, kind: &'static str, result: &'static str) {
        inc_pair(&self.inner.audit.events, ("kind", kind), ("result", result));
    }

    pub fn event_delivery(&self, result: &'static str) {
        inc(&self.inner.audit.deliveries, "result", result);
    }

    /// The events outbox as the worker last measured it.
    pub fn events_backlog(&self, depth: i64, oldest_age_seconds: i64) {
        self.inner.audit.outbox_depth.set(depth);
        self.inner.audit.outbox_oldest_age.set(oldest_age_seconds);
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

/// The audit trail's: events by kind and result, and the events outbox.
struct AuditMetrics {
    events: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    outbox_depth: Gauge,
    outbox_oldest_age: Gauge,
}

impl AuditMetrics {
    fn register(r: &mut Registry) -> AuditMetrics {
        AuditMetrics {
            events: counters(
                r,
                "audit_events",
                "Audit events recorded, by kind and result",
            ),
            deliveries: counters(
                r,
                "event_deliveries",
                "Attempts to send an event to events.url, by result (delivered, failed)",
            ),
            outbox_depth: registered(
                r,
                "events_outbox_depth",
                "Events waiting for events.url",
                Gauge::default(),
            ),
            outbox_oldest_age: registered(
                r,
                "events_outbox_oldest_age_seconds",
                "How long the oldest event waiting for events.url has waited",
                Gauge::default(),
            ),
        }
    }
}

/// `metric`, registered under `name`.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// A labelled counter, registered under `name`.
fn counters(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    registered(registry, name, help, Family::default())
}

fn inc(family: &Family<Labels, Counter>, key: &'static str, value: &str) {
    family.get_or_create(&vec![(key, value.to_string())]).inc();
}

/// [`inc`] with two labels.
fn inc_pair(family: &Family<Labels, Counter>, a: (&'static str, &str), b: (&'static str, &str)) {
    family
        .get_or_create(&vec![(a.0, a.1.to_string()), (b.0, b.1.to_string())])
        .inc();
}

/// Middleware: times every request on the public port by its route pattern,
/// in all and without the waits on Hydra and the SMS gateway.
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(request.method()).to_string();
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

/// The method as a label: any token is a valid HTTP method, and each new
/// label value is a series kept for good, so made-up ones share `other`.
/// (Routes are already bounded: the matched pattern or `unmatched`.)
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_methods_become_labels() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        for made_up in ["FOO", "get", "CONNECT", "PROPFIND"] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{made_up}");
        }
    }
}

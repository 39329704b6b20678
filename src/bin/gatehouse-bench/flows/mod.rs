//! One flow of each scenario, timed step by step. A flow returns its steps'
//! durations or the first thing that went wrong, in words.
//!
//! This module holds what every flow shares (the step tables' types, the
//! identities each flow signs in with, the HTTP context); each scenario's
//! flow is a submodule of its own, and the browser-like HTTP hops and the
//! OAuth client calls they have in common are in `http` and `oauth`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::server::Server;
use crate::sms_sink::SmsSink;

/// Times one step: runs `$work`, pushes `($name, elapsed)` onto `$steps`
/// and gives back what `$work` gave. Defined before the submodules so that
/// they can use it.
macro_rules! timed {
    ($steps:ident, $name:expr, $work:expr) => {{
        let started = std::time::Instant::now();
        let output = $work;
        $steps.push(($name, started.elapsed()));
        output
    }};
}

pub mod bare_hydra;
pub mod browser;
pub mod headless;
mod http;
mod oauth;
pub mod otp;
pub mod refresh;

pub type Steps = Vec<(&'static str, Duration)>;
pub type FlowResult = Result<Steps, String>;

/// Who answers a step: gatehouse itself, or Hydra (through gatehouse's
/// proxy, or directly in `bare-hydra`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Gatehouse,
    Hydra,
    /// In-process library calls (the `otp` scenario).
    Library,
    /// Whoever answers a forward-auth scenario: a gatehouse or Oathkeeper.
    Verifier,
}

/// A step's name, owner, and which gatehouse route (method, status class)
/// carries it, to find its own time in the metrics.
pub struct StepInfo {
    pub name: &'static str,
    pub owner: Owner,
    pub route: Option<(&'static str, &'static str, &'static str)>,
}

const fn step(
    name: &'static str,
    owner: Owner,
    route: Option<(&'static str, &'static str, &'static str)>,
) -> StepInfo {
    StepInfo { name, owner, route }
}

/// gatehouse's route for everything it passes on to Hydra's public API.
const PROXY: &str = "/oauth2/{*rest}";

/// Distinct phone numbers and client addresses for every flow of a run, so
/// that no abuse limit is reached at its default setting.
pub struct Identities(AtomicU64);

impl Identities {
    pub fn new() -> Identities {
        Identities(AtomicU64::new(0))
    }

    /// A valid US number in E.164 and an address from 198.18.0.0/15, the
    /// range reserved for benchmarks (RFC 2544): the per-IP limit counts it
    /// through X-Forwarded-For, which gatehouse believes from loopback.
    pub fn next(&self) -> (String, String) {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        const AREAS: [u32; 8] = [201, 212, 305, 312, 415, 617, 718, 808];
        let area = AREAS[(n / 8_000_000 % 8) as usize];
        let exchange = 200 + n / 10_000 % 800;
        let phone = format!("+1{area}{exchange}{:04}", n % 10_000);
        let ip = format!("198.{}.{}.{}", 18 + (n >> 16) % 2, (n >> 8) % 256, n % 256);
        (phone, ip)
    }
}

/// What every HTTP flow needs. The client is shared by all flows (one
/// connection pool, as a load generator has); each flow keeps its own
/// cookies (see `http::Browser`).
pub struct Ctx {
    pub http: reqwest::Client,
    pub public: Url,
    pub hydra_public: Url,
    pub hydra_admin: String,
    pub callback: String,
    pub sms: SmsSink,
    /// Shared by the instances of a cluster: no phone is used twice.
    pub ids: Arc<Identities>,
    /// Flows of the sign-in scenarios sent to this instance.
    pub flows_sent: AtomicU64,
}

impl Ctx {
    pub fn new(server: &Server, ids: Arc<Identities>) -> Arc<Ctx> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client with static settings");
        Arc::new(Ctx {
            http,
            public: Url::parse(&server.public).expect("a URL"),
            hydra_public: Url::parse(&server.hydra_public).expect("a URL"),
            hydra_admin: server.hydra_admin.clone(),
            callback: server.callback.clone(),
            sms: server.sms.clone(),
            ids,
            flows_sent: AtomicU64::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse::domain::PhoneNumber;

    #[test]
    fn identities_are_valid_and_distinct() {
        let ids = Identities::new();
        let mut seen = std::collections::HashSet::new();
        for n in 0..30_000u64 {
            let (phone, ip) = ids.next();
            if n % 997 == 0 {
                PhoneNumber::parse(&phone, None).unwrap_or_else(|e| panic!("{phone}: {e}"));
                ip.parse::<std::net::Ipv4Addr>().unwrap();
            }
            assert!(seen.insert((phone, ip)));
        }
        // Far into a run the numbers are still valid.
        let far = Identities(AtomicU64::new(63_999_999));
        let (phone, _) = far.next();
        PhoneNumber::parse(&phone, None).unwrap_or_else(|e| panic!("{phone}: {e}"));
    }
}

//! The `otp` scenario: gatehouse's OTP service on a store of its own, in
//! this process, with codes handed over in memory; a code issued and
//! verified per flow. No HTTP and no Hydra: the store's limit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use gatehouse::domain::{FlowId, OtpCode, PhoneNumber};
use gatehouse::signin::otp::{OtpPolicy, OtpService};
use gatehouse::sms::MemoryOutbox;
use gatehouse::store::{DatabaseLocation, Store};

use super::{step, FlowResult, Identities, Owner, StepInfo, Steps};
use crate::server::Server;
use crate::stats::{self, Outcome};

pub const STEPS: &[StepInfo] = &[
    step("issue", Owner::Library, None),
    step("verify", Owner::Library, None),
];

/// What the flow drives: the OTP service on a store of its own.
struct OtpBench {
    service: OtpService,
    outbox: MemoryOutbox,
    ids: Identities,
}

/// Opens the scenario's store (in the benchmark's temp dir, or the
/// PostgreSQL database `postgres`) and runs the scenario on `concurrency`
/// workers for `duration`.
pub async fn run(
    server: &Server,
    postgres: Option<&str>,
    concurrency: usize,
    duration: Duration,
) -> Result<Outcome> {
    let location = match postgres {
        Some(url) => DatabaseLocation::from_url(url).map_err(|e| anyhow!("{e}"))?,
        None => DatabaseLocation::Sqlite(server.scratch("otp-bench.sqlite")),
    };
    let pool = gatehouse::config::DatabaseConfig::default().pool_size;
    let store = tokio::task::spawn_blocking(move || Store::open_at(&location, pool))
        .await?
        .context("open the otp scenario's store")?;
    let outbox = MemoryOutbox::default();
    let service = OtpService::new(
        store.clone(),
        gatehouse::directory::Directory::embedded(store),
        gatehouse::sms::SmsSender::Memory(outbox.clone()),
        OtpPolicy::from_config(&speed_only_config()),
        gatehouse::infra::random::random_hex(32).as_bytes(),
        gatehouse::infra::clock::Clock::system(),
    );
    let _delivery = service.delivery().spawn();
    let bench = Arc::new(OtpBench {
        service,
        outbox,
        ids: Identities::new(),
    });
    Ok(stats::run(concurrency, duration, STEPS, move |_| flow(bench.clone())).await)
}

/// The defaults, less the caps against SMS pumping: the scenario measures
/// speed, thousands of codes a minute.
fn speed_only_config() -> gatehouse::config::Config {
    let mut config = gatehouse::config::Config::default();
    let policy = &mut config.sms.policy;
    policy.max_per_hour = u32::MAX;
    policy.max_per_country_per_hour = u32::MAX;
    policy.max_per_country_per_day = u32::MAX;
    policy.max_per_ipv6_48_per_hour = u32::MAX;
    config
}

/// `otp`: a code issued and verified, in process, against the store alone.
async fn flow(bench: Arc<OtpBench>) -> FlowResult {
    let (phone, ip) = bench.ids.next();
    let phone = PhoneNumber::parse(&phone, None).map_err(|e| format!("{phone}: {e}"))?;
    let ip = ip.parse().map_err(|e| format!("{ip}: {e}"))?;
    let mut steps = Steps::with_capacity(2);
    timed!(
        steps,
        "issue",
        bench
            .service
            .issue(&FlowId::browser(phone.as_str()), &phone, Some(ip))
            .await
            .map_err(|e| format!("issue: {e}"))?
    );
    let code = bench
        .outbox
        .wait_for(phone.as_str(), Duration::from_secs(10))
        .await
        .ok_or("issue: no code sent")?;
    let code = OtpCode::parse(&code, bench.service.code_length()).map_err(|e| e.to_string())?;
    timed!(
        steps,
        "verify",
        bench
            .service
            .verify(&FlowId::browser(phone.as_str()), &phone, &code)
            .await
            .map_err(|e| format!("verify: {e}"))?
    );
    Ok(steps)
}

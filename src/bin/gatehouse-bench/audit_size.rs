//! `--audit-size N`: how much disk an audit trail of N events takes.
//!
//! Records N events through gatehouse's own `AuditTrail` (the same rows,
//! indexes and transactions as a server writes) into a fresh database in a
//! temp dir, closes it (the WAL is checkpointed into the file), and prints
//! the file's size per event and per million events. The events are what
//! sign-ins write: per sign-in a code sent, the sign-in and the consent,
//! and one sign-in in ten with a wrong code first; each with a subject out
//! of 100,000 people, their number, a client id, an address (one in four
//! IPv6), one of five real browsers' user agents and a request id.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use gatehouse::config::EventsConfig;
use gatehouse::domain::{EventKind, Outcome, PhoneNumber, SignInMethod};
use gatehouse::infra::clock::Clock;
use gatehouse::infra::random::random_hex;
use gatehouse::signin::audit::{AuditTrail, Event, RequestContext};
use gatehouse::store::Store;

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.104 Mobile Safari/537.36",
];
const CLIENTS: &[&str] = &["web-shop", "ios-app", "partner-portal"];
const PEOPLE: u64 = 100_000;
/// Events recorded at the same time (they queue on the store's thread).
const IN_FLIGHT: usize = 64;

/// `keep`: leave the database in its temp dir (and say where).
pub async fn measure(events: u64, keep: bool) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("gatehouse-audit-size-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let database: PathBuf = dir.join("gatehouse.sqlite");
    let result = fill(&database, events).await;
    let size = std::fs::metadata(&database).map(|m| m.len());
    if keep {
        println!("database kept:          {}", database.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
    let (recorded, seconds) = result?;
    let size = size.context("read the database's size")?;
    let empty = empty_size()?;
    let per_event = (size - empty) as f64 / recorded as f64;
    println!(
        "audit events recorded:  {recorded} in {seconds:.1} s ({:.0}/s)",
        recorded as f64 / seconds
    );
    println!("database file:          {size} bytes ({empty} bytes empty)");
    println!("per event:              {per_event:.0} bytes");
    let million = per_event * 1e6;
    println!(
        "per million events:     {:.0} MB ({:.0} MiB)",
        million / 1e6,
        million / (1024.0 * 1024.0)
    );
    Ok(())
}

/// Records `events` events; returns how many and how long it took.
async fn fill(database: &std::path::Path, events: u64) -> Result<(u64, f64)> {
    let store = Store::open(database)?;
    let clock = Clock::manual(1_800_000_000);
    let trail = AuditTrail::new(
        store,
        b"audit-size-key",
        &EventsConfig::default(),
        clock.clone(),
    );
    let started = Instant::now();
    let mut recorded = 0;
    let mut sign_ins = futures_util::stream::iter(0..)
        .map(|n| sign_in(&trail, &clock, n))
        .buffer_unordered(IN_FLIGHT);
    while recorded < events {
        recorded += sign_ins.next().await.unwrap_or(0);
    }
    drop(sign_ins);
    drop(trail);
    Ok((recorded, started.elapsed().as_secs_f64()))
}

/// The events of the `n`th sign-in; returns how many.
async fn sign_in(trail: &AuditTrail, clock: &Clock, n: u64) -> u64 {
    clock.advance(1);
    let person = (n * 7_919) % PEOPLE;
    let subject = format!("{:032x}", person.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let phone = PhoneNumber::parse(&format!("+1201555{:04}", person % 10_000), None)
        .expect("a valid number");
    let client = CLIENTS[(n % 3) as usize];
    let address = if n.is_multiple_of(4) {
        format!(
            "2001:db8:{:x}:{:x}::{:x}",
            n % 65_536,
            person % 65_536,
            n % 255
        )
    } else {
        format!("198.51.{}.{}", n % 256, person % 256)
    };
    let context = || {
        RequestContext::new(
            address.parse().ok(),
            Some(USER_AGENTS[(person % 5) as usize].as_bytes()),
            Some(format!("{}-{}", random_hex(4), random_hex(14)).as_bytes()),
        )
    };
    let sms = |kind| {
        Event::new(kind)
            .subject(&subject)
            .phone(&phone)
            .client(client)
            .method(SignInMethod::Sms)
    };
    let mut events = vec![sms(EventKind::CodeSent)];
    if n.is_multiple_of(10) {
        events.push(sms(EventKind::SigninFailed).outcome(Outcome::Refused, "wrong_code"));
    }
    events.push(sms(EventKind::SigninSucceeded));
    events.push(
        Event::new(EventKind::ConsentGranted)
            .subject(&subject)
            .client(client)
            .outcome(Outcome::Ok, "automatic"),
    );
    let count = events.len() as u64;
    for event in events {
        context().scope(trail.record(event)).await;
    }
    count
}

/// The size of a freshly migrated database with no events.
fn empty_size() -> Result<u64> {
    let dir = std::env::temp_dir().join(format!("gatehouse-audit-empty-{}", random_hex(4)));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("gatehouse.sqlite");
    drop(Store::open(&path)?);
    let size = std::fs::metadata(&path)?.len();
    std::fs::remove_dir_all(&dir).ok();
    Ok(size)
}

//! `gatehouse audit`: the audit trail, filtered, as a table or JSON lines;
//! and the trail the other commands record the operator's actions in.
//!
//! It reads the database while gatehouse serves (SQLite in WAL mode lets a
//! reader in beside the server's writer), like `gatehouse users`.

use clap::Args;

use crate::config::Config;
use crate::domain::{EventKind, PhoneNumber};
use crate::infra::clock::Clock;
use crate::infra::data_dir::DataDir;
use crate::infra::random::random_hex;
use crate::infra::secrets;
use crate::signin::audit::{rfc3339, AuditTrail, Event, EventJson, RequestContext};
use crate::store::audit::{self, AuditFilter, AuditRow};
use crate::store::{self, Store, StoreError};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Events of this user id (the OIDC subject).
    #[arg(long)]
    pub subject: Option<String>,
    /// Events of this phone number, typed in full (it is hashed the way
    /// the trail stores it).
    #[arg(long)]
    pub phone: Option<String>,
    /// Events of this OAuth2 client id.
    #[arg(long)]
    pub client: Option<String>,
    /// Events of this kind (repeatable, or comma-separated), e.g. signin_failed.
    #[arg(long = "kind", value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// From this time on: RFC 3339 (2026-01-15T09:30:00Z) or a duration
    /// back from now (24h, 7days).
    #[arg(long)]
    pub since: Option<String>,
    /// Before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// One JSON object per line, as the events receiver gets them.
    #[arg(long)]
    pub json: bool,
    /// Show the newest N matching events (0: all).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("--phone `{input}`: {problem}")]
    Phone { input: String, problem: String },
    #[error("--kind `{0}`: unknown kind; known: {known}", known = EventKind::names())]
    Kind(String),
    #[error(
        "--{flag} `{value}`: expected an RFC 3339 time (2026-01-15T09:30:00Z) \
         or a duration back from now (24h, 7days)"
    )]
    Time { flag: &'static str, value: String },
    #[error("cannot read the server secret {path}: {problem}")]
    Secret { path: String, problem: String },
}

pub async fn run(config: &Config, args: AuditArgs) -> Result<(), AuditError> {
    let store = open_store(config)?;
    let now = Clock::system().now();
    let mut filter = AuditFilter {
        subject: args.subject,
        client_id: args.client,
        since: args
            .since
            .map(|v| parse_time("since", v, now))
            .transpose()?,
        until: args
            .until
            .map(|v| parse_time("until", v, now))
            .transpose()?,
        limit: (args.limit > 0).then_some(args.limit + 1),
        ..AuditFilter::default()
    };
    for kind in args.kinds {
        EventKind::parse(&kind).ok_or_else(|| AuditError::Kind(kind.clone()))?;
        filter.kinds.push(kind);
    }
    if let Some(input) = args.phone {
        let phone = PhoneNumber::parse(&input, config.users.default_region).map_err(|e| {
            AuditError::Phone {
                input: input.clone(),
                problem: e.to_string(),
            }
        })?;
        filter.phone_hash = trail(config, store.clone())?.phone_hash(&phone);
    }
    let mut rows = store.run(move |db| audit::search(db, &filter)).await?;
    let cut = args.limit > 0 && rows.len() > args.limit;
    if cut {
        rows.remove(0);
    }
    if args.json {
        for row in &rows {
            println!(
                "{}",
                serde_json::to_string(&EventJson::of(row)).expect("rows serialize")
            );
        }
    } else {
        print_table(&rows);
    }
    if cut {
        eprintln!(
            "gatehouse: showing the newest {} matching events; --limit 0 shows all",
            args.limit
        );
    }
    Ok(())
}

/// An RFC 3339 time, or a duration back from `now`, as unix seconds.
fn parse_time(flag: &'static str, value: String, now: i64) -> Result<i64, AuditError> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(&value) {
        return Ok(time.timestamp());
    }
    match humantime::parse_duration(&value) {
        Ok(ago) => Ok(now - ago.as_secs() as i64),
        Err(_) => Err(AuditError::Time { flag, value }),
    }
}

fn print_table(rows: &[AuditRow]) {
    let cell = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    println!(
        "{:<20}  {:<16}  {:<7}  {:<24}  {:<32}  {:<12}  {:<20}  {:<15}  {:<10}  {:<36}  USER AGENT",
        "TIME",
        "KIND",
        "RESULT",
        "REASON",
        "SUBJECT",
        "PHONE",
        "CLIENT",
        "ADDRESS",
        "METHOD",
        "REQUEST ID"
    );
    for row in rows {
        println!(
            "{:<20}  {:<16}  {:<7}  {:<24}  {:<32}  {:<12}  {:<20}  {:<15}  {:<10}  {:<36}  {}",
            rfc3339(row.at),
            row.kind,
            row.result,
            cell(&row.reason),
            cell(&row.subject),
            cell(&row.phone_masked),
            cell(&row.client_id),
            cell(&row.client_address),
            cell(&row.method),
            cell(&row.request_id),
            cell(&row.user_agent),
        );
    }
    println!("{} events", rows.len());
}

fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::open_configured(config)
}

/// The audit trail as the command line writes it: the server's key for
/// phone numbers, `[events]` as configured (the server's worker sends what
/// is queued here), and the operator in place of a request.
pub fn trail(config: &Config, store: Store) -> Result<AuditTrail, AuditError> {
    let files = DataDir::new(&config.data_dir);
    let path = files.otp_secret();
    let key = secrets::create_private_dir(&files.secrets())
        .and_then(|()| secrets::load_or_create(&path))
        .map_err(|e| AuditError::Secret {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
    let trail = AuditTrail::new(store, key.as_bytes(), &config.events, Clock::system());
    Ok(trail.with_fallback(operator()))
}

/// Who ran the command: `gatehouse-cli (uid 1000 alice)`, and one request
/// id for everything the command records.
fn operator() -> RequestContext {
    let uid = rustix::process::getuid().as_raw();
    let name = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    let agent = match name {
        Some(name) => format!("gatehouse-cli (uid {uid} {name})"),
        None => format!("gatehouse-cli (uid {uid})"),
    };
    RequestContext::new(
        None,
        Some(agent.as_bytes()),
        Some(random_hex(16).as_bytes()),
    )
}

/// [`trail`] for a command that records its actions: one that records
/// nothing (said on stderr) when the secret cannot be read, so the command
/// itself still runs.
pub fn trail_or_none(config: &Config, store: Store) -> AuditTrail {
    trail(config, store).unwrap_or_else(|error| {
        eprintln!("gatehouse: not recorded in the audit trail: {error}");
        AuditTrail::default()
    })
}

/// Records an operator's action, when gatehouse's database is there (a
/// command that only talks to Hydra may run elsewhere). Never fails the
/// command: a problem is said on stderr.
pub async fn record(config: &Config, event: Event) {
    let database = DataDir::new(&config.data_dir).database();
    let on_file = !matches!(store::database_location(config), Ok(l) if l.is_postgres());
    if on_file && !database.is_file() {
        let database = database.display();
        eprintln!("gatehouse: no database at {database}: not recorded in the audit trail");
        return;
    }
    match open_store(config) {
        Ok(store) => trail_or_none(config, store).record(event).await,
        Err(error) => eprintln!("gatehouse: not recorded in the audit trail: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_durations_back() {
        let now = 1_800_000_000;
        assert_eq!(
            parse_time("since", "2027-01-15T08:00:00Z".into(), now).unwrap(),
            now
        );
        assert_eq!(
            parse_time("since", "2027-01-15T09:00:00+01:00".into(), now).unwrap(),
            now
        );
        assert_eq!(
            parse_time("since", "24h".into(), now).unwrap(),
            now - 86_400
        );
        assert_eq!(
            parse_time("until", "7days".into(), now).unwrap(),
            now - 7 * 86_400
        );
        let error = parse_time("since", "yesterday".into(), 0).unwrap_err();
        assert!(error.to_string().contains("--since `yesterday`"), "{error}");
    }
}

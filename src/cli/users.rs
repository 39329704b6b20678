//! `gatehouse users ...`: manage the embedded user table from the shell.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::cli::audit;
use crate::cli::sessions::{self, Revoke};
use crate::config::{Config, DirectoryKind};
use crate::domain::{EventKind, PhoneNumber};
use crate::infra::clock::Clock;
use crate::signin::audit::{AuditTrail, Event};
use crate::store::users::{self, Profile, Upserted, User};
use crate::store::{Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user.
    Add {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        given_name: Option<String>,
        #[arg(long)]
        family_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The email address is known to belong to the user.
        #[arg(long)]
        email_verified: bool,
    },
    /// List all users.
    List,
    /// Show one user as JSON.
    Show {
        /// A user id or a phone number.
        user: String,
    },
    /// Stop a user from signing in.
    Disable { user: String },
    /// Let a disabled user sign in again.
    Enable { user: String },
    /// Create or update users from a CSV file with a header row. Columns:
    /// phone (required), given_name, family_name, email, email_verified,
    /// street_address, locality, region, postal_code, country.
    Import { file: PathBuf },
    /// List a person's sign-in methods (the SMS number, authenticator
    /// apps), or remove one (a lost device) with --remove ID. Works with
    /// every directory kind.
    Methods {
        #[arg(long)]
        phone: String,
        /// The id of the method to remove, from the list.
        #[arg(long)]
        remove: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("phone number `{input}`: {problem}")]
    Phone { input: String, problem: String },
    #[error("no user with id or phone `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Methods(#[from] super::methods::MethodsError),
    #[error("cannot read {path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error(
        "user {id} is disabled and cannot sign in, but their existing sessions and tokens \
         were not revoked ({reason}); run `gatehouse sessions revoke --subject {id} --all` \
         while gatehouse runs"
    )]
    NotRevoked { id: String, reason: String },
    #[error("{failed} of {total} lines could not be imported")]
    ImportFailed { failed: usize, total: usize },
    #[error(
        "directory.kind = \"{0}\": people are managed in that directory, not with \
         `gatehouse users` (which edits gatehouse's own table)"
    )]
    NotEmbedded(&'static str),
}

pub async fn run(config: &Config, command: UsersCommand) -> Result<(), UsersError> {
    // Rows added here would never be read: people live in the directory.
    // (A person's methods are gatehouse's own rows, whatever the directory.)
    let embedded_only = !matches!(command, UsersCommand::Methods { .. });
    if embedded_only && config.directory.kind != DirectoryKind::Embedded {
        return Err(UsersError::NotEmbedded(config.directory.kind.as_str()));
    }
    let store = open_store(config)?;
    let trail = audit::trail_or_none(config, store.clone());
    let region = config.users.default_region;
    let now = Clock::system().now();
    match command {
        UsersCommand::Add {
            phone,
            given_name,
            family_name,
            email,
            email_verified,
        } => {
            let phone = parse_phone(&phone, region)?;
            let added = Event::new(EventKind::UserAdded).phone(&phone);
            let profile = Profile {
                given_name,
                family_name,
                email,
                email_verified,
                ..Profile::default()
            };
            let user = store
                .run(move |conn| users::insert(conn, &phone, &profile, false, now))
                .await?;
            trail.record(added.subject(&user.id)).await;
            println!("{}", user.id);
        }
        UsersCommand::List => {
            let all = store.run(|conn| users::list(conn)).await?;
            print_table(&all);
        }
        UsersCommand::Show { user } => {
            let found = find(&store, user).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&found).expect("users serialize")
            );
        }
        UsersCommand::Disable { user } => {
            let id = set_disabled(&store, &trail, user, true, now).await?;
            // Disabling also ends what the user already holds: browser
            // sessions and every app's tokens.
            sessions::revoke(config, &id, Revoke::Everything)
                .await
                .map_err(|e| UsersError::NotRevoked {
                    id,
                    reason: e.to_string(),
                })?;
        }
        UsersCommand::Enable { user } => {
            set_disabled(&store, &trail, user, false, now).await?;
        }
        UsersCommand::Methods { phone, remove } => {
            let phone = parse_phone(&phone, region)?;
            super::methods::run(config, store, &phone, remove).await?;
        }
        UsersCommand::Import { file } => import(&store, &trail, &file, region, now).await?,
    }
    Ok(())
}

/// `users import`: the file, then a line per refused row and a summary.
async fn import(
    store: &Store,
    trail: &AuditTrail,
    file: &Path,
    region: Option<phonenumber::country::Id>,
    now: i64,
) -> Result<(), UsersError> {
    let report = import_file(store, trail, file, region, now).await?;
    for error in &report.errors {
        eprintln!("gatehouse: {}: {error}", file.display());
    }
    println!(
        "{}: {} created, {} updated, {} unchanged, {} failed",
        file.display(),
        report.created,
        report.updated,
        report.unchanged,
        report.errors.len()
    );
    if !report.errors.is_empty() {
        return Err(UsersError::ImportFailed {
            failed: report.errors.len(),
            total: report.total(),
        });
    }
    Ok(())
}

fn open_store(config: &Config) -> Result<Store, UsersError> {
    crate::infra::secrets::create_data_dir(&config.data_dir).map_err(|e| UsersError::File {
        path: config.data_dir.clone(),
        problem: e.to_string(),
    })?;
    Ok(Store::open_configured(config)?)
}

fn parse_phone(
    input: &str,
    region: Option<phonenumber::country::Id>,
) -> Result<PhoneNumber, UsersError> {
    PhoneNumber::parse(input, region).map_err(|e| UsersError::Phone {
        input: input.to_string(),
        problem: e.to_string(),
    })
}

async fn find(store: &Store, key: String) -> Result<User, UsersError> {
    let lookup = key.clone();
    store
        .run(move |conn| users::find_by_id_or_phone(conn, &lookup))
        .await?
        .ok_or(UsersError::NotFound(key))
}

/// Returns the user's id.
async fn set_disabled(
    store: &Store,
    trail: &AuditTrail,
    key: String,
    disabled: bool,
    now: i64,
) -> Result<String, UsersError> {
    let user = find(store, key).await?;
    let id = user.id.clone();
    store
        .run(move |conn| users::set_disabled(conn, &id, disabled, now))
        .await?;
    let (state, kind) = if disabled {
        ("disabled", EventKind::UserDisabled)
    } else {
        ("enabled", EventKind::UserEnabled)
    };
    let phone = PhoneNumber::from_trusted_e164(user.phone.clone());
    trail
        .record(Event::new(kind).subject(&user.id).phone(&phone))
        .await;
    println!("{} ({}) {state}", user.id, user.phone);
    Ok(user.id)
}

fn print_table(all: &[User]) {
    println!(
        "{:<32}  {:<16}  {:<24}  {:<28}  STATUS",
        "ID", "PHONE", "NAME", "EMAIL"
    );
    for user in all {
        let name = [&user.profile.given_name, &user.profile.family_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let status = if user.disabled { "disabled" } else { "active" };
        println!(
            "{:<32}  {:<16}  {:<24}  {:<28}  {status}",
            user.id,
            user.phone,
            name,
            user.profile.email.as_deref().unwrap_or("")
        );
    }
    println!("{} users", all.len());
}

/// What an import did; `errors` holds one readable line per refused row.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<String>,
}

impl ImportReport {
    pub fn total(&self) -> usize {
        self.created + self.updated + self.unchanged + self.errors.len()
    }
}

const COLUMNS: &[&str] = &[
    "phone",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

pub async fn import_file(
    store: &Store,
    trail: &AuditTrail,
    path: &Path,
    region: Option<phonenumber::country::Id>,
    now: i64,
) -> Result<ImportReport, UsersError> {
    let file_error = |problem: String| UsersError::File {
        path: path.to_path_buf(),
        problem,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| file_error(e.to_string()))?;
    let rows = parse_rows(&text, region).map_err(file_error)?;
    let mut report = ImportReport::default();
    for row in rows {
        match row {
            Err(error) => report.errors.push(error),
            Ok((line, phone, profile)) => {
                let event = Event::new(EventKind::UserAdded).phone(&phone);
                let outcome = store
                    .run(move |conn| users::upsert_profile(conn, &phone, &profile, now))
                    .await;
                match outcome {
                    Ok(Upserted::Created) => {
                        report.created += 1;
                        trail.record(event).await;
                    }
                    Ok(Upserted::Updated) => {
                        report.updated += 1;
                        trail.record(event.kind(EventKind::UserUpdated)).await;
                    }
                    Ok(Upserted::Unchanged) => report.unchanged += 1,
                    Err(e) => report.errors.push(format!("line {line}: {e}")),
                }
            }
        }
    }
    Ok(report)
}

type Row = Result<(u64, PhoneNumber, Profile), String>;

/// Parses every row; a bad header fails the whole file, a bad row only itself.
fn parse_rows(text: &str, region: Option<phonenumber::country::Id>) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    if let Some(unknown) = headers
        .iter()
        .find(|h| !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(h)))
    {
        return Err(format!(
            "unknown column `{unknown}` in the header; known columns: {}",
            COLUMNS.join(", ")
        ));
    }
    if index("phone").is_none() {
        return Err("the header row has no `phone` column".into());
    }
    let mut seen = std::collections::HashMap::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                rows.push(Err(format!("line {line}: {e}")));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |name: &str| {
            index(name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let row = (|| {
            let raw_phone = cell("phone").ok_or("phone is empty")?;
            let phone = PhoneNumber::parse(&raw_phone, region)
                .map_err(|e| format!("phone `{raw_phone}`: {e}"))?;
            if let Some(first) = seen.insert(phone.clone(), line) {
                return Err(format!("phone {phone} is already on line {first}"));
            }
            let email = cell("email");
            if email.as_deref().is_some_and(|e| !e.contains('@')) {
                return Err(format!("email `{}` has no @", email.unwrap_or_default()));
            }
            let email_verified = match cell("email_verified")
                .as_deref()
                .map(str::to_ascii_lowercase)
            {
                None => false,
                Some(v) if ["true", "yes", "1"].contains(&v.as_str()) => true,
                Some(v) if ["false", "no", "0"].contains(&v.as_str()) => false,
                Some(v) => return Err(format!("email_verified `{v}` is not true or false")),
            };
            Ok((
                phone,
                Profile {
                    given_name: cell("given_name"),
                    family_name: cell("family_name"),
                    email,
                    email_verified,
                    street_address: cell("street_address"),
                    locality: cell("locality"),
                    region: cell("region"),
                    postal_code: cell("postal_code"),
                    country: cell("country"),
                },
            ))
        })();
        rows.push(
            row.map(|(phone, profile)| (line, phone, profile))
                .map_err(|e: String| format!("line {line}: {e}")),
        );
    }
    Ok(rows)
}

//! `gatehouse users methods --phone ... [--remove ID]`: the sign-in methods
//! a person set up next to the SMS code, for an operator (a lost phone's
//! authenticator app is removed here). Works with every directory kind:
//! the number is looked up in the configured directory, the methods are
//! gatehouse's own rows.

use crate::config::Config;
use crate::directory::Directory;
use crate::domain::PhoneNumber;
use crate::store::credentials::{self, TotpCredential};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MethodsError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the user directory cannot be asked: {0}")]
    Directory(String),
    #[error("no user with phone `{0}`")]
    NotFound(String),
    #[error("{subject} has no sign-in method with id `{id}` (see `gatehouse users methods --phone ...`)")]
    NoSuchMethod { id: String, subject: String },
}

/// Lists `phone`'s methods, or removes the one with id `remove`.
pub async fn run(
    config: &Config,
    store: Store,
    phone: &PhoneNumber,
    remove: Option<String>,
) -> Result<(), MethodsError> {
    let directory = Directory::from_config(&config.directory, store.clone())
        .map_err(|e| MethodsError::Directory(e.to_string()))?;
    let lookup = directory
        .phone_lookup(phone, &store)
        .await
        .map_err(|e| MethodsError::Directory(e.to_string()))?;
    let subject = store
        .run(move |db| lookup.resolve(db))
        .await?
        .map(|user| user.id)
        .ok_or_else(|| MethodsError::NotFound(phone.as_str().to_string()))?;
    match remove {
        Some(id) => {
            let (owner, credential) = (subject.clone(), id.clone());
            let removed = store
                .run(move |db| credentials::remove_totp(db, &owner, &credential))
                .await?;
            if !removed {
                return Err(MethodsError::NoSuchMethod { id, subject });
            }
            // The text message stays: `login.methods` always offers it, so
            // removing a device never locks the person out.
            println!("removed {id} from {subject}; they can still sign in by text message");
        }
        None => {
            let owner = subject.clone();
            let apps = store
                .run(move |db| credentials::totp_of(db, &owner))
                .await?;
            print_methods(&subject, phone, &apps);
        }
    }
    Ok(())
}

fn print_methods(subject: &str, phone: &PhoneNumber, apps: &[TotpCredential]) {
    println!("{subject} ({})", phone.as_str());
    println!(
        "{:<32}  {:<8}  {:<24}  {:<20}  LAST USED",
        "ID", "KIND", "NAME", "ADDED"
    );
    println!(
        "{:<32}  {:<8}  {:<24}  {:<20}  -",
        "-",
        "sms",
        phone.as_str(),
        "-"
    );
    for app in apps {
        let kind = if app.confirmed {
            "totp"
        } else {
            "totp (set-up not finished)"
        };
        let last_used = app.last_used_at.map(time).unwrap_or_else(|| "never".into());
        println!(
            "{:<32}  {:<8}  {:<24}  {:<20}  {last_used}",
            app.id,
            kind,
            app.name,
            time(app.created_at)
        );
    }
}

/// Unix seconds as UTC date and time.
fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}

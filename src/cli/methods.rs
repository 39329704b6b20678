//! `gatehouse users methods --phone ... [--remove ID]`: the sign-in methods
//! a person set up next to the SMS code (authenticator apps and passkeys),
//! for an operator (a lost phone's app or a lost security key is removed
//! here, and the removal goes into the audit trail). Works with every
//! directory kind: the number is looked up in the configured directory,
//! the methods are gatehouse's own rows.

use crate::config::Config;
use crate::directory::Directory;
use crate::domain::{EventKind, Outcome, PhoneNumber};
use crate::signin::account::sign_in_method;
use crate::signin::audit::Event;
use crate::store::methods::{self, Method, Removal};
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
        Some(id) => remove_one(config, &store, &subject, id).await?,
        None => {
            let owner = subject.clone();
            let all = store.run(move |db| methods::of(db, &owner)).await?;
            print_methods(&subject, phone, &all);
        }
    }
    Ok(())
}

/// Removes `subject`'s method `id` (an operator may remove the last one:
/// the person lost it) and records it in the audit trail.
async fn remove_one(
    config: &Config,
    store: &Store,
    subject: &str,
    id: String,
) -> Result<(), MethodsError> {
    let (owner, method) = (subject.to_string(), id.clone());
    let removal = store
        .run(move |db| methods::remove(db, &owner, &method, false))
        .await?;
    let kind = match removal {
        Removal::Removed(kind) => kind,
        Removal::NotFound | Removal::LastWayIn => {
            let subject = subject.to_string();
            return Err(MethodsError::NoSuchMethod { id, subject });
        }
    };
    let event = Event::new(EventKind::MethodRemoved)
        .subject(subject)
        .method(sign_in_method(kind))
        .outcome(Outcome::Ok, "operator");
    crate::cli::audit::record(config, event).await;
    let left = {
        let owner = subject.to_string();
        store.run(move |db| methods::of(db, &owner)).await?
    };
    let ways_in = left.iter().filter(|m| !m.pending).count();
    println!(
        "removed {} {id} from {subject}; passkeys and apps left: {ways_in}",
        kind.as_str()
    );
    if ways_in == 0 && !config.login.offers(crate::config::LoginMethod::Sms) {
        println!("warning: `login.methods` offers no text messages: {subject} cannot sign in now");
    }
    Ok(())
}

fn print_methods(subject: &str, phone: &PhoneNumber, all: &[Method]) {
    println!("{subject} ({})", phone.as_str());
    println!(
        "{:<43}  {:<8}  {:<24}  {:<20}  LAST USED",
        "ID", "KIND", "NAME", "ADDED"
    );
    println!(
        "{:<43}  {:<8}  {:<24}  {:<20}  -",
        "-",
        "sms",
        phone.as_str(),
        "-"
    );
    for method in all {
        let kind = match (method.kind, method.pending) {
            (kind, false) => kind.as_str(),
            (_, true) => "totp (set-up not finished)",
        };
        let last_used = method
            .last_used_at
            .map(time)
            .unwrap_or_else(|| "never".into());
        println!(
            "{:<43}  {:<8}  {:<24}  {:<20}  {last_used}",
            method.id,
            kind,
            method.name,
            time(method.created_at)
        );
    }
}

/// Unix seconds as UTC date and time.
fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}

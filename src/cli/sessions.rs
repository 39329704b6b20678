//! `gatehouse sessions revoke`: sign a person out, from the shell.

use clap::{Args, Subcommand};

use crate::cli::audit;
use crate::config::Config;
use crate::domain::{EventKind, Outcome};
use crate::hydra::{HydraClient, HydraError};
use crate::signin::audit::Event;

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Without --client/--all: sign the user out of every browser (login
    /// sessions). --client ID: revoke that app's tokens and consent.
    /// --all: both, for every app ("kill everything").
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The user's id (the OIDC subject; see `gatehouse users show`).
    #[arg(long)]
    pub subject: String,
    #[arg(long, conflicts_with = "all")]
    pub client: Option<String>,
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error("cannot reach Hydra's admin API at {0}: is gatehouse running?")]
    Unreachable(String),
    #[error("Hydra's admin API failed: {0}")]
    Hydra(HydraError),
}

/// What to revoke for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke<'a> {
    LoginSessions,
    Client(&'a str),
    Everything,
}

pub async fn run(config: &Config, command: SessionsCommand) -> Result<(), SessionsError> {
    let SessionsCommand::Revoke(args) = command;
    let what = match (&args.client, args.all) {
        (_, true) => Revoke::Everything,
        (Some(client), false) => Revoke::Client(client),
        (None, false) => Revoke::LoginSessions,
    };
    revoke(config, &args.subject, what).await?;
    let done = match what {
        Revoke::LoginSessions => "signed out of every browser".to_string(),
        Revoke::Client(client) => format!("tokens and consent of client {client} revoked"),
        Revoke::Everything => "signed out everywhere; all tokens revoked".to_string(),
    };
    println!("{}: {done}", args.subject);
    Ok(())
}

/// Revokes sessions at Hydra's admin API, and records it.
pub async fn revoke(config: &Config, subject: &str, what: Revoke<'_>) -> Result<(), SessionsError> {
    let hydra = HydraClient::new(config.hydra_admin_url(), config.hydra.ca_file());
    let admin_url = config.hydra_admin_url().to_string();
    let fail = |e: HydraError| match e {
        HydraError::Unreachable { .. } => SessionsError::Unreachable(admin_url.clone()),
        other => SessionsError::Hydra(other),
    };
    match what {
        Revoke::LoginSessions => hydra.revoke_login_sessions(subject).await.map_err(fail)?,
        Revoke::Client(client) => hydra
            .revoke_consent_sessions(subject, Some(client))
            .await
            .map_err(fail)?,
        Revoke::Everything => {
            hydra.revoke_login_sessions(subject).await.map_err(fail)?;
            hydra
                .revoke_consent_sessions(subject, None)
                .await
                .map_err(fail)?;
        }
    }
    let (what, client) = match what {
        Revoke::LoginSessions => ("login_sessions", ""),
        Revoke::Client(client) => ("client", client),
        Revoke::Everything => ("everything", ""),
    };
    let event = Event::new(EventKind::SessionsRevoked)
        .subject(subject)
        .client(client)
        .outcome(Outcome::Ok, what);
    audit::record(config, event).await;
    Ok(())
}

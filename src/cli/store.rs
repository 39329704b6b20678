//! `gatehouse store copy --from URL --to URL`: an appliance's people and
//! their sign-in methods into the cluster's database (`store::copy`).

use clap::Subcommand;

use crate::config::DatabaseLocation;
use crate::store::{self, Store, StoreError};

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy people, passkeys and authenticator apps from one database to
    /// another, empty one (e.g. --from sqlite:///var/lib/gatehouse/gatehouse.sqlite
    /// --to postgres://gatehouse@db/gatehouse?sslmode=verify-full). Codes,
    /// limits, sessions and the audit trail are not copied.
    Copy {
        /// The database to read (migrated first, as a start of this version would).
        #[arg(long)]
        from: String,
        /// The database to fill (migrated first); it must hold no people yet.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreCliError {
    #[error("--{flag}: {problem}")]
    Url { flag: &'static str, problem: String },
    #[error("--from and --to name the same database")]
    Same,
    #[error("{which}: {source}")]
    Store {
        which: String,
        #[source]
        source: StoreError,
    },
}

pub async fn run(command: StoreCommand) -> Result<(), StoreCliError> {
    let StoreCommand::Copy { from, to } = command;
    let url = |flag: &'static str, url: &str| {
        DatabaseLocation::from_url(url).map_err(|problem| StoreCliError::Url { flag, problem })
    };
    let (from, to) = (url("from", &from)?, url("to", &to)?);
    if from == to {
        return Err(StoreCliError::Same);
    }
    if let DatabaseLocation::Sqlite(path) = &from {
        if !path.is_file() {
            return Err(StoreCliError::Url {
                flag: "from",
                problem: format!("{} does not exist", path.display()),
            });
        }
    }
    let (source, target) = (open(&from).await?, open(&to).await?);
    let copied = store::copy::between(&source, &target)
        .await
        .map_err(|source| StoreCliError::Store {
            which: format!("copying into {}", describe(&to)),
            source,
        })?;
    let counts: Vec<String> = copied
        .iter()
        .map(|(words, n)| format!("{n} {words}"))
        .collect();
    eprintln!(
        "gatehouse: copied {} from {} to {}",
        counts.join(", "),
        describe(&from),
        describe(&to)
    );
    eprintln!("gatehouse: not copied: {}", store::copy::LEFT_BEHIND);
    eprintln!(
        "gatehouse: give every instance on the new database the old data_dir/secrets/ \
         (authenticator apps are sealed with its otp.secret) and the same server.public_url \
         (passkeys belong to its host name)"
    );
    Ok(())
}

async fn open(location: &DatabaseLocation) -> Result<Store, StoreCliError> {
    let opening = location.clone();
    let opened = tokio::task::spawn_blocking(move || Store::open_at(&opening, 2))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
        .and_then(|opened| opened);
    opened.map_err(|source| StoreCliError::Store {
        which: format!("opening {}", describe(location)),
        source,
    })
}

/// A database in words, without its password.
fn describe(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite(path) => format!("the SQLite file {}", path.display()),
        DatabaseLocation::Postgres { url, .. } => match url::Url::parse(url.expose()) {
            Ok(url) => format!(
                "PostgreSQL database {} on {}",
                url.path().trim_start_matches('/'),
                url.host_str()
                    .filter(|h| !h.is_empty())
                    .unwrap_or("the local socket")
            ),
            Err(_) => "the PostgreSQL database".into(),
        },
    }
}

//! `gatehouse keys`: the keys Hydra signs id_tokens and JWT access tokens
//! with. `rotate` adds a new key of `hydra.tuning.signing_key`'s kind to
//! each set (Hydra signs with the newest and keeps publishing the older
//! ones, so tokens signed before still verify); `retire` removes an old
//! one once no token it signed is still valid.

use clap::Subcommand;

use crate::config::{Config, SigningKey};
use crate::hydra::signing_keys::{self, SigningKeyError, ACCESS_TOKEN_SET, ID_TOKEN_SET};
use crate::hydra::{HydraClient, HydraError};

const SETS: [&str; 2] = [ID_TOKEN_SET, ACCESS_TOKEN_SET];

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys of each set, newest (the one in use) first.
    List,
    /// Add a new signing key to each set; Hydra signs with it from now on.
    Rotate,
    /// Remove an old key (not the one in use) by its kid.
    Retire {
        /// The key's id, as `keys list` prints it.
        kid: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(
        "configuration key `hydra.tuning.signing_key` is \"hydra\": set the kind of key to \
         make (\"rsa-2048\", \"rsa-3072\", \"rsa-4096\" or \"es256\")"
    )]
    NoKind,
    #[error(transparent)]
    Generate(#[from] SigningKeyError),
    #[error("no key {0} in {ID_TOKEN_SET} or {ACCESS_TOKEN_SET}")]
    Unknown(String),
    #[error("key {kid} signs {set}'s tokens now: rotate first, then retire it")]
    InUse { kid: String, set: &'static str },
    #[error("Hydra's admin API failed: {0}; is gatehouse running?")]
    Hydra(#[from] HydraError),
}

pub async fn run(config: &Config, command: KeysCommand) -> Result<(), KeysError> {
    let hydra = HydraClient::new(config.hydra_admin_url(), config.hydra.ca_file());
    match command {
        KeysCommand::List => {
            for set in SETS {
                println!("{set}:");
                for (n, key) in hydra.key_set(set).await?.iter().enumerate() {
                    let in_use = if n == 0 { "  (signing)" } else { "" };
                    println!("  {}{in_use}", signing_keys::describe(key));
                }
            }
            Ok(())
        }
        KeysCommand::Rotate => rotate(&hydra, config.hydra.tuning.signing_key).await,
        KeysCommand::Retire { kid } => retire(&hydra, &kid).await,
    }
}

async fn rotate(hydra: &HydraClient, kind: SigningKey) -> Result<(), KeysError> {
    if kind == SigningKey::Hydra {
        return Err(KeysError::NoKind);
    }
    for set in SETS {
        let key = signing_keys::generate_off_thread(kind).await?;
        hydra.put_key(set, &key).await?;
        println!("{set}: now signing with {}", signing_keys::describe(&key));
    }
    eprintln!(
        "gatehouse: the old keys stay published; retire them with `gatehouse keys retire KID` \
         once the tokens they signed have expired"
    );
    Ok(())
}

async fn retire(hydra: &HydraClient, kid: &str) -> Result<(), KeysError> {
    for set in SETS {
        let keys = hydra.key_set(set).await?;
        let Some(position) = keys.iter().position(|k| k["kid"] == kid) else {
            continue;
        };
        if position == 0 {
            return Err(KeysError::InUse {
                kid: kid.to_string(),
                set,
            });
        }
        hydra.delete_key(set, kid).await?;
        println!("{set}: retired {kid}");
        return Ok(());
    }
    Err(KeysError::Unknown(kid.to_string()))
}

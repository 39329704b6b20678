//! `gatehouse clients`: register, list, show and delete OAuth2 clients
//! through Hydra's admin API (the one of a running `gatehouse serve` with the
//! same configuration, or the external Hydra it names).

use clap::{Args, Subcommand};

use crate::cli::audit;
use crate::config::Config;
use crate::domain::EventKind;
use crate::hydra::{HydraClient, HydraError, NewClient, OAuth2Client};
use crate::signin::audit::Event;

const DEFAULT_SCOPE: &str = "openid offline_access profile email phone";
/// Grants that send the browser back to the client, so need a redirect URI.
const REDIRECTING_GRANTS: &[&str] = &["authorization_code", "implicit"];

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client and print its id and secret (the secret only this once).
    Create(CreateClient),
    /// List the registered clients: id, name, redirect URIs.
    List,
    /// Print one client as JSON (never its secret).
    Show {
        /// The client id.
        id: String,
    },
    /// Delete a client; its tokens stop working.
    Delete {
        /// The client id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateClient {
    /// The name people see on the consent page.
    #[arg(long)]
    pub name: String,
    /// Where the client receives the authorization code (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Space-separated scopes the client may request.
    #[arg(long, default_value = DEFAULT_SCOPE)]
    pub scope: String,
    /// A public client (mobile or single-page app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Never ask people for consent for this (first-party) client.
    #[arg(long)]
    pub skip_consent: bool,
    /// An OAuth2 grant type the client may use (repeatable).
    #[arg(
        long = "grant-type",
        value_name = "GRANT",
        default_values = ["authorization_code", "refresh_token"]
    )]
    pub grant_types: Vec<String>,
    /// Where the client may send people after logging out (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// An access-token audience the client may request (repeatable).
    #[arg(long = "audience", value_name = "AUDIENCE")]
    pub audiences: Vec<String>,
    /// Use this client id instead of one Hydra generates.
    #[arg(long)]
    pub id: Option<String>,
}

/// Why a `clients` command failed, as one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error("cannot reach Hydra's admin API at {admin_url}: is gatehouse running?")]
    Unreachable { admin_url: String },
    #[error("Hydra refused the client: {description} ({error})")]
    Refused { error: String, description: String },
    #[error("Hydra refused the client: a client with id {0} already exists")]
    Duplicate(String),
    #[error("no client with id {0}")]
    UnknownClient(String),
    #[error("--redirect-uri is required for the {0} grant")]
    MissingRedirectUri(String),
    #[error("Hydra's admin API failed: {0}")]
    Hydra(HydraError),
    #[error("cannot print the client: {0}")]
    Print(#[from] serde_json::Error),
}

pub async fn run(config: &Config, command: ClientsCommand) -> Result<(), ClientsError> {
    let hydra = HydraClient::new(config.hydra_admin_url(), config.hydra.ca_file());
    match command {
        ClientsCommand::Create(args) => {
            let client_id = create(&hydra, args).await?;
            let event = Event::new(EventKind::ClientCreated).client(&client_id);
            audit::record(config, event).await;
            Ok(())
        }
        ClientsCommand::List => list(&hydra).await,
        ClientsCommand::Show { id } => show(&hydra, &id).await,
        ClientsCommand::Delete { id } => {
            hydra
                .delete_client(&id)
                .await
                .map_err(|e| explain(&hydra, e, Some(&id)))?;
            println!("deleted client {id}");
            audit::record(config, Event::new(EventKind::ClientDeleted).client(&id)).await;
            Ok(())
        }
    }
}

/// Returns the new client's id.
async fn create(hydra: &HydraClient, args: CreateClient) -> Result<String, ClientsError> {
    let new = new_client(args)?;
    let created = hydra
        .create_client(&new)
        .await
        .map_err(|e| explain(hydra, e, new.client_id.as_deref()))?;
    println!("client_id: {}", created.client_id);
    match &created.client_secret {
        Some(secret) => {
            println!("client_secret: {secret}");
            eprintln!("gatehouse: store the secret now; it is not shown again");
        }
        None => eprintln!("gatehouse: public client: no secret, it must use PKCE"),
    }
    Ok(created.client_id)
}

fn new_client(args: CreateClient) -> Result<NewClient, ClientsError> {
    if args.redirect_uris.is_empty() {
        if let Some(grant) = args
            .grant_types
            .iter()
            .find(|g| REDIRECTING_GRANTS.contains(&g.as_str()))
        {
            return Err(ClientsError::MissingRedirectUri(grant.clone()));
        }
    }
    let response_types = if args.grant_types.iter().any(|g| g == "authorization_code") {
        vec!["code".to_string()]
    } else {
        Vec::new()
    };
    let token_endpoint_auth_method = if args.public {
        "none"
    } else {
        "client_secret_basic"
    };
    Ok(NewClient {
        client_id: args.id,
        client_name: args.name,
        redirect_uris: args.redirect_uris,
        grant_types: args.grant_types,
        response_types,
        scope: args.scope,
        audience: args.audiences,
        token_endpoint_auth_method: token_endpoint_auth_method.into(),
        skip_consent: args.skip_consent,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        metadata: None,
    })
}

async fn list(hydra: &HydraClient) -> Result<(), ClientsError> {
    let clients = hydra
        .list_clients()
        .await
        .map_err(|e| explain(hydra, e, None))?;
    if clients.is_empty() {
        eprintln!("gatehouse: no clients registered");
        return Ok(());
    }
    print!("{}", table(&clients));
    Ok(())
}

/// Left-aligned columns: id, name, redirect URIs.
fn table(clients: &[OAuth2Client]) -> String {
    let rows: Vec<[String; 3]> = clients
        .iter()
        .map(|c| {
            [
                c.client_id.clone(),
                c.client_name.clone(),
                c.redirect_uris.join(", "),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "REDIRECT URIS"].map(String::from);
    let id_width = rows
        .iter()
        .chain([&header])
        .map(|r| r[0].chars().count())
        .max()
        .unwrap_or_default();
    let name_width = rows
        .iter()
        .chain([&header])
        .map(|r| r[1].chars().count())
        .max()
        .unwrap_or_default();
    [header]
        .iter()
        .chain(&rows)
        .map(|[id, name, uris]| {
            let line = format!("{id:id_width$}  {name:name_width$}  {uris}");
            format!("{}\n", line.trim_end())
        })
        .collect()
}

async fn show(hydra: &HydraClient, id: &str) -> Result<(), ClientsError> {
    let mut client = hydra
        .get_client(id)
        .await
        .map_err(|e| explain(hydra, e, Some(id)))?;
    // Hydra does not send it here, and it must never be printed again anyway.
    client.client_secret = None;
    client.other.remove("client_secret");
    println!("{}", serde_json::to_string_pretty(&client)?);
    Ok(())
}

/// Words a Hydra error for the operator; `client_id` is the client the
/// command was about, if any.
fn explain(hydra: &HydraClient, error: HydraError, client_id: Option<&str>) -> ClientsError {
    match (error, client_id) {
        (HydraError::Unreachable { .. }, _) => ClientsError::Unreachable {
            admin_url: hydra.admin_url().to_string(),
        },
        (
            HydraError::BadRequest {
                error, description, ..
            },
            _,
        ) => ClientsError::Refused { error, description },
        (HydraError::Conflict { .. }, Some(id)) => ClientsError::Duplicate(id.to_string()),
        (HydraError::Conflict { description, .. }, None) => ClientsError::Refused {
            error: "conflict".into(),
            description,
        },
        (HydraError::NotFound { .. }, Some(id)) => ClientsError::UnknownClient(id.to_string()),
        (other, _) => ClientsError::Hydra(other),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ClientsCommand,
    }

    fn create_args(args: &[&str]) -> CreateClient {
        let argv = ["clients", "create"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().command {
            ClientsCommand::Create(create) => create,
            _ => unreachable!(),
        }
    }

    #[test]
    fn confidential_client_defaults() {
        let client = new_client(create_args(&[
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--redirect-uri",
            "https://shop.example/cb2",
        ]))
        .unwrap();
        assert_eq!(client.client_name, "Shop");
        assert_eq!(client.redirect_uris.len(), 2);
        assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(client.response_types, ["code"]);
        assert_eq!(client.scope, DEFAULT_SCOPE);
        assert_eq!(client.token_endpoint_auth_method, "client_secret_basic");
        assert!(!client.skip_consent);
        assert_eq!(client.client_id, None);
    }

    #[test]
    fn public_client_has_no_secret_method() {
        let client = new_client(create_args(&[
            "--name",
            "App",
            "--redirect-uri",
            "com.example.app:/cb",
            "--public",
            "--skip-consent",
            "--grant-type",
            "authorization_code",
            "--audience",
            "api",
            "--post-logout-redirect-uri",
            "com.example.app:/bye",
        ]))
        .unwrap();
        assert_eq!(client.token_endpoint_auth_method, "none");
        assert_eq!(client.grant_types, ["authorization_code"]);
        assert_eq!(client.audience, ["api"]);
        assert_eq!(client.post_logout_redirect_uris, ["com.example.app:/bye"]);
        assert!(client.skip_consent);
    }

    #[test]
    fn code_flow_without_redirect_uri_is_refused_before_asking_hydra() {
        let error = new_client(create_args(&["--name", "X"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--redirect-uri is required for the authorization_code grant"
        );
        let machine = new_client(create_args(&[
            "--name",
            "Batch",
            "--grant-type",
            "client_credentials",
        ]))
        .unwrap();
        assert!(machine.response_types.is_empty());
    }

    #[test]
    fn table_aligns_columns() {
        let clients = [
            OAuth2Client {
                client_id: "a".into(),
                client_name: "Long name".into(),
                redirect_uris: vec!["https://a/cb".into(), "https://a/cb2".into()],
                ..OAuth2Client::default()
            },
            OAuth2Client {
                client_id: "bbbbbbbb".into(),
                ..OAuth2Client::default()
            },
        ];
        assert_eq!(
            table(&clients),
            "ID        NAME       REDIRECT URIS\n\
             a         Long name  https://a/cb, https://a/cb2\n\
             bbbbbbbb\n"
        );
    }
}

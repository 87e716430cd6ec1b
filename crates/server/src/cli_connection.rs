//! `roster connection create`: an organization's own OpenID Connect connection (enterprise
//! single sign-on), from the command line, with the same database settings as `serve`.

use clap::Subcommand;
use roster_domain::core::{ConnectionInput, Context};
use roster_domain::Core;
use serde_json::json;

use crate::app::{core_config, open_store};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Add a connection; members invited with its name sign in through it. Prints the redirect
    /// URI to register at the provider.
    Create {
        /// The organization (id or uuid).
        #[arg(long)]
        org: String,
        /// Lower-case letters, digits and dashes; what invitations name as their connection.
        #[arg(long)]
        name: String,
        /// The provider's issuer (serves `/.well-known/openid-configuration`).
        #[arg(long)]
        issuer: String,
        /// Roster's client id at the provider.
        #[arg(long)]
        client_id: String,
        /// Roster's client secret at the provider (stored, never shown again). Rather than on
        /// the command line (where other users of the machine may see it): the variable
        /// `ROSTER_CONNECTION_CLIENT_SECRET`, or `--client-secret-stdin`.
        #[arg(long, env = "ROSTER_CONNECTION_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// Read the client secret from the first line of standard input.
        #[arg(long, conflicts_with = "client_secret")]
        client_secret_stdin: bool,
        /// An email domain it admits; repeat for several.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// Let members who sign in with a password also sign in through this provider with the
        /// same verified address.
        #[arg(long)]
        link_password_accounts: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, c: ConnectionCommand) -> anyhow::Result<()> {
    let ConnectionCommand::Create {
        org,
        name,
        issuer,
        client_id,
        client_secret,
        client_secret_stdin,
        domains,
        link_password_accounts,
        json: as_json,
    } = c;
    let client_secret = match (client_secret, client_secret_stdin) {
        (_, true) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
        (Some(s), false) => s,
        (None, false) => anyhow::bail!(
            "the client secret: --client-secret, ROSTER_CONNECTION_CLIENT_SECRET or --client-secret-stdin"
        ),
    };
    let db = open_store(&config).await?;
    let core = Core::new(db.store.clone(), core_config(&config, config.public_url()));
    let input = ConnectionInput {
        name: Some(name),
        issuer: Some(issuer),
        client_id: Some(client_id),
        client_secret: Some(client_secret),
        domains: Some(domains),
        link_password_accounts: Some(link_password_accounts),
    };
    let c = core
        .create_connection(&Context::system(), &org, input)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the connection: {e}"))?;
    let redirect_uri =
        crate::upstream::callback_uri(&config.public_url(), Some(&c.org_id), &c.name);
    if as_json {
        let out = json!({
            "org_id": c.org_id,
            "name": c.name,
            "issuer": c.issuer,
            "client_id": c.client_id,
            "domains": c.domains,
            "link_password_accounts": c.link_password_accounts,
            "redirect_uri": redirect_uri,
        });
        println!("{out}");
    } else {
        println!("connection     {}", c.name);
        println!("issuer         {}", c.issuer);
        println!("redirect uri   {redirect_uri}   (register it at the provider)");
    }
    db.close().await;
    Ok(())
}

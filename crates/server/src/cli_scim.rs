//! `roster scim-token create`: a SCIM token of an organization (docs/scim.md), from the command
//! line, with the same database settings as `serve`. The token is printed once.

use clap::Subcommand;
use roster_domain::core::Context;
use roster_domain::Core;
use serde_json::json;

use crate::app::{core_config, open_store};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Create a token for the organization's SCIM base URL; prints it once (stored hashed).
    Create {
        /// The organization (id or uuid).
        #[arg(long)]
        org: String,
        /// What the token is for (the directory's name).
        #[arg(long)]
        name: String,
        /// The role whose grants the token acts with (default `DefaultAdministratorRole`).
        #[arg(long)]
        role: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, c: ScimTokenCommand) -> anyhow::Result<()> {
    let ScimTokenCommand::Create {
        org,
        name,
        role,
        json: as_json,
    } = c;
    let db = open_store(&config).await?;
    let core = Core::new(db.store.clone(), core_config(&config, config.public_url()));
    let made = core
        .create_directory_token(&Context::system(), &org, &name, role.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the SCIM token: {e}"))?;
    let org = core
        .find_org(&made.token.org_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = format!(
        "{}/scim/v2/{}",
        config.public_url().trim_end_matches('/'),
        org.id
    );
    if as_json {
        let out = json!({
            "id": made.token.id,
            "org_id": made.token.org_id,
            "name": made.token.name,
            "role": made.role_name,
            "base_url": base,
            "token": made.secret,
        });
        println!("{out}");
    } else {
        println!("token      {}   (shown once)", made.secret);
        println!("base url   {base}");
        println!("role       {}", made.role_name);
    }
    db.close().await;
    Ok(())
}

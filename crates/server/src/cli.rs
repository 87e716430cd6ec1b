//! The `roster` command line: `serve`, `bootstrap`, `migrate`, `maintenance`.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use roster_domain::core::NewOrgInput;
use roster_domain::store::OpsStore;
use roster_domain::types::format_micros;
use roster_domain::Core;
use serde_json::json;

use crate::app::{connect_redis, core_config, open_database, open_store, Application};
use crate::config::{Config, LogFormat, SETTINGS_HEADING};
use crate::state::MAINTENANCE_KEY;

/// Roster: multi-tenant user and organization management speaking the Amigo, eva-user and
/// org-user-management APIs. Every setting can also be given as a `ROSTER_*` variable, or as a
/// key of the TOML file named by `--config` (the long flag name in snake_case, e.g.
/// `database_url = "postgres://..."`). A flag wins over its variable, which wins over the file.
#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    after_help = "Logging: ROSTER_LOG picks the log lines written to stderr, as a tracing filter \
(default `info,sqlx=warn`; e.g. `ROSTER_LOG=debug`, or `ROSTER_LOG=info,roster_server=debug`). \
ROSTER_LOG_FORMAT (`--log-format`) writes them as text or JSON."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// TOML file of settings, keyed by the long flag names in snake_case.
    #[arg(
        long = "config",
        help_heading = SETTINGS_HEADING,
        id = "config_file",
        env = "ROSTER_CONFIG",
        global = true,
        value_name = "FILE"
    )]
    pub config_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default). On an empty database, create the platform organization.
    Serve,
    /// Create an organization with its first administrator and an API key that signs in as them.
    Bootstrap(BootstrapArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Import users from an eva bulk-create CSV file
    /// (`email;name;company;role;password;environmentUuid;environmentName;bot`).
    ImportUsers {
        /// The organization (id or uuid).
        #[arg(long)]
        org: String,
        /// Language of the welcome emails (en, es, ja, pt).
        #[arg(long, default_value = "en")]
        language: String,
        /// Print a JSON summary (counts, rate and every rejected row) on stdout.
        #[arg(long)]
        json: bool,
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// The OpenID Connect clients (relying parties) of an organization.
    #[command(subcommand)]
    OidcClient(OidcClientCommand),
    /// The OpenID Connect connections (enterprise single sign-on) of an organization.
    #[command(subcommand)]
    Connection(crate::cli_connection::ConnectionCommand),
    /// The SCIM tokens an organization's directory (Okta, Entra ID) provisions with.
    #[command(subcommand)]
    ScimToken(crate::cli_scim::ScimTokenCommand),
    /// Manage an organization's webhook endpoints.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Switch maintenance mode on every node sharing the database: all APIs answer 503.
    Maintenance {
        #[arg(value_enum)]
        state: Switch,
    },
}

#[derive(Debug, Subcommand)]
pub enum OidcClientCommand {
    /// Register a client; prints its `client_id` and, for a confidential client, its
    /// `client_secret` (shown once, stored as a hash).
    Create {
        /// The organization (id or uuid).
        #[arg(long)]
        org: String,
        /// The client's name, shown on the sign-in page.
        #[arg(long)]
        name: String,
        /// A redirect URI, matched exactly; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create an endpoint; prints its id and its signing secret (shown this once).
    Create {
        /// The organization (id or uuid).
        #[arg(long)]
        org: String,
        /// Where deliveries are POSTed (http or https).
        #[arg(long)]
        url: String,
        /// An event type to deliver (repeat for several); none: every type.
        #[arg(long = "type")]
        types: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// Print one JSON object (`id`, `secret`, `url`, `types`).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// Short id of the organization, used in paths (`acme`).
    #[arg(long)]
    pub org: String,
    /// Display name of the organization.
    #[arg(long)]
    pub org_name: String,
    /// Email of the first administrator.
    #[arg(long)]
    pub admin_email: String,
    /// Name of the first administrator.
    #[arg(long, default_value = "Administrator")]
    pub admin_name: String,
    /// Name of the API key.
    #[arg(long, default_value = "bootstrap")]
    pub api_key_name: String,
    /// Days until the API key expires (1 to 90).
    #[arg(long, default_value_t = 90)]
    pub api_key_days: i64,
    /// Database cluster to place the organization on (one of `--clusters`, or the home
    /// cluster's `--cluster-name`); default: the home cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// The command line of this process, with settings that neither a flag nor a variable gives
    /// taken from the `--config` file. Exits like clap on `--help` or a bad command line.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(std::env::args_os().collect())
    }

    pub fn load_from(args: Vec<OsString>) -> anyhow::Result<Self> {
        let cmd = Self::command();
        let matches = cmd.clone().get_matches_from(args.iter());
        let Some(path) = matches.get_one::<PathBuf>("config_file").cloned() else {
            return Ok(Self::from_arg_matches(&matches)?);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        // The file's settings become flags placed before the user's own, for the settings the
        // command line and the environment leave unset: clap then checks them like any flag.
        let mut file_args: Vec<OsString> = Vec::new();
        for (key, value) in &table {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == key.as_str() && key != "config_file")
                .and_then(|a| a.get_long())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: unknown setting '{key}' (keys are the long flag names of `roster --help` in snake_case)",
                        path.display()
                    )
                })?;
            if matches!(
                matches.value_source(key),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                continue;
            }
            let value = toml_setting(value).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: '{key}' must be a string, a number, a boolean or a list of them",
                    path.display()
                )
            })?;
            file_args.push(format!("--{arg}={value}").into());
        }
        let mut full: Vec<OsString> = args.iter().take(1).cloned().collect();
        full.extend(file_args);
        full.extend(args.iter().skip(1).cloned());
        let matches = cmd
            .try_get_matches_from(full)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.render()))?;
        Ok(Self::from_arg_matches(&matches)?)
    }
}

/// A TOML value as a flag value; a list becomes comma-separated (as list settings take them).
fn toml_setting(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                toml::Value::Array(_) | toml::Value::Table(_) => None,
                scalar => toml_setting(scalar),
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROSTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        // Colour codes only where someone reads them: never into files or pipes.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    for var in Config::unknown_env_vars() {
        tracing::warn!(%var, "unknown ROSTER_ variable ignored");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => {
            let dbs = open_store(&cli.config).await?;
            for (name, _) in &dbs.all {
                println!("migrations applied to cluster {name}");
            }
            println!(
                "home cluster: {}",
                roster_store::redact(&cli.config.database_url())
            );
            dbs.close().await;
            Ok(())
        }
        Command::Maintenance { state } => {
            let db = open_database(&cli.config).await?;
            let value = match state {
                Switch::On => "on",
                Switch::Off => "off",
            };
            roster_store::SqlStore::single(db)
                .put_setting(MAINTENANCE_KEY, value, roster_domain::types::now_micros())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("maintenance {value}: every node applies it within seconds");
            Ok(())
        }
        Command::Bootstrap(args) => bootstrap(cli.config, args).await,
        Command::OidcClient(c) => oidc_client(cli.config, c).await,
        Command::Connection(c) => crate::cli_connection::run(cli.config, c).await,
        Command::ScimToken(c) => crate::cli_scim::run(cli.config, c).await,
        Command::Webhook { command } => webhook(cli.config, command).await,
        Command::ImportUsers {
            org,
            language,
            json,
            file,
        } => {
            let (imported, rejected) =
                crate::cli_import::import_users(&cli.config, &org, &language, &file, json).await?;
            announce_writes(&cli.config).await?;
            if imported == 0 && rejected > 0 {
                anyhow::bail!("no user was imported");
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.public_url.is_none() {
        tracing::warn!(
            "ROSTER_PUBLIC_URL is not set: returned and emailed links will start with http://{}",
            config.bind
        );
    }
    let app = Application::build(config).await?;
    tracing::info!(
        bind = %app.state().config.bind,
        database = %roster_store::redact(&app.state().config.database_url()),
        backend = app.state().core.store.backend(),
        "roster listening"
    );
    println!(
        "Email delivery: {}",
        app.outbox().mailer.transport.describe()
    );
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn bootstrap(config: Config, a: BootstrapArgs) -> anyhow::Result<()> {
    let db = open_store(&config).await?;
    let core = Core::new(db.store.clone(), core_config(&config, config.public_url()));
    let input = NewOrgInput {
        id: a.org.clone(),
        name: a.org_name,
        default_preferences: Default::default(),
        user_dimensions: json!([]),
        branding: json!({}),
        is_platform: false,
        cluster: a.cluster,
    };
    let made = core
        .bootstrap(
            input,
            &a.admin_email,
            &a.admin_name,
            &a.api_key_name,
            a.api_key_days,
        )
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;
    let out = json!({
        "org_id": made.org.id,
        "org_uuid": made.org.uuid,
        "user_id": made.user.id,
        "admin_email": made.user.email,
        "api_key_id": made.api_key.key_id,
        "api_key": made.secret,
        "expires_at": format_micros(made.api_key.expires_at),
    });
    if a.json {
        println!("{out}");
    } else {
        println!("organization   {} ({})", made.org.id, made.org.uuid);
        println!("administrator  {} ({})", made.user.email, made.user.id);
        println!("api key id     {}", made.api_key.key_id);
        println!("api key        {}   (shown once)", made.secret);
        println!("expires at     {}", format_micros(made.api_key.expires_at));
    }
    db.close().await;
    announce_writes(&config).await
}

async fn oidc_client(config: Config, c: OidcClientCommand) -> anyhow::Result<()> {
    let OidcClientCommand::Create {
        org,
        name,
        redirect_uris,
        public,
        json: as_json,
    } = c;
    let db = open_store(&config).await?;
    let core = Core::new(db.store.clone(), core_config(&config, config.public_url()));
    let input = roster_domain::core::OidcClientInput {
        name: Some(name),
        redirect_uris: Some(redirect_uris),
        public,
    };
    let made = core
        .create_oidc_client(&roster_domain::core::Context::system(), &org, input)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the client: {e}"))?;
    let c = &made.client;
    let issuer = format!(
        "{}/realms/{}",
        config.public_url().trim_end_matches('/'),
        c.org_id
    );
    if as_json {
        let mut out = json!({
            "client_id": c.client_id,
            "org_id": c.org_id,
            "name": c.name,
            "public": c.is_public(),
            "redirect_uris": c.redirect_uris,
            "issuer": issuer,
        });
        if let Some(secret) = &made.secret {
            out["client_secret"] = json!(secret);
        }
        println!("{out}");
    } else {
        println!("client id      {}", c.client_id);
        if let Some(secret) = &made.secret {
            println!("client secret  {secret}   (shown once)");
        }
        println!("issuer         {issuer}");
    }
    db.close().await;
    announce_writes(&config).await
}

/// With Redis, tells the running nodes that this command wrote, so that they read the database
/// again at once rather than after their cache TTL.
async fn announce_writes(config: &Config) -> anyhow::Result<()> {
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    if let Some(redis) = connect_redis(config, metrics).await? {
        redis.publish_writes().await;
    }
    Ok(())
}

/// The operator's bulk import: the same rules and batches as eva's bulk-create.
async fn webhook(config: Config, command: WebhookCommand) -> anyhow::Result<()> {
    let WebhookCommand::Create {
        org,
        url,
        types,
        description,
        json,
    } = command;
    let db = open_store(&config).await?;
    let core = Core::new(db.store.clone(), core_config(&config, config.public_url()));
    let input = roster_domain::core::WebhookInput {
        url: Some(url),
        types: Some(types),
        enabled: Some(true),
        description: Some(description),
    };
    let w = core
        .create_webhook(&roster_domain::core::Context::system(), &org, input)
        .await
        .map_err(|e| anyhow::anyhow!("webhook not created: {e}"))?;
    core.close().await;
    if json {
        let out = json!({ "id": w.id, "secret": w.secret, "url": w.url, "types": w.types });
        println!("{out}");
    } else {
        println!(
            "webhook {} -> {}\nsecret (shown once): {}",
            w.id, w.url, w.secret
        );
    }
    Ok(())
}

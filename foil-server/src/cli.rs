//! The `foil-server` command line (personas.md §6).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::auth::api_key::KeyScope;
use crate::auth::password;
use crate::config::{env_help, Config};
use crate::context::ApiContext;
use crate::db;
use crate::server::{self, init_tracing, local_user, open_db, resolve_jwt_secret};

/// The Foil Engine server: AI-driven NPCs for games.
#[derive(Parser, Debug)]
#[command(name = "foil-server", version, after_long_help = env_help(), after_help = "Run `foil-server --help` for every configuration setting.")]
pub(crate) struct Cli {
    /// TOML configuration file (FOIL_* environment variables override it).
    #[arg(long, global = true, env = "FOIL_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Serve the HTTP API (the default).
    Serve {
        /// Also create a demo account, import and publish the example personas, and print a
        /// fresh API key and the persona ids.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Self-hosted accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print an access token (JWT) for a self-hosted account.
    Token {
        #[arg(long)]
        email: String,
    },
    /// API keys for the Game SDK.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Personas as files (JSON or YAML).
    Persona {
        #[command(subcommand)]
        command: PersonaCommand,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Create a self-hosted account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, env = "FOIL_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ApiKeyCommand {
    /// Create a key for an account and print it (shown once).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// `full` (a game build's key) or `mint` (a game backend's key that only mints player
        /// tokens).
        #[arg(long, default_value = "full", value_parser = parse_scope)]
        scope: KeyScope,
    },
}

fn parse_scope(raw: &str) -> Result<KeyScope, String> {
    KeyScope::parse(raw).ok_or_else(|| format!("`{raw}` is not a scope: full or mint"))
}

#[derive(Subcommand, Debug)]
pub(crate) enum PersonaCommand {
    /// Validate a persona file and store it as a new persona of the account.
    Import {
        file: PathBuf,
        #[arg(long)]
        email: String,
        /// Replace this persona (owned by the account) instead of creating one.
        #[arg(long)]
        replace: Option<Uuid>,
    },
    /// Print a persona's document (with ids; importing it again is accepted).
    Export {
        id: Uuid,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    Json,
    Yaml,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    for var in Config::unknown_env_vars(std::env::vars()) {
        tracing::warn!(variable = %var, "no setting has this name; the variable is ignored");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(
        cli.command.unwrap_or(Command::Serve { demo: false }),
        config,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    if let Command::Serve { demo } = command {
        return server::serve(config, demo).await;
    }
    resolve_jwt_secret(&mut config)?;
    let db = open_db(&config).await?;
    let ctx = ApiContext::new(config, db.clone()).await?;
    let result = run_tool(command, &ctx).await;
    db.close().await;
    result
}

async fn run_tool(command: Command, ctx: &ApiContext) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => unreachable!("handled by run"),
        Command::Migrate => println!("database is up to date"),
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    password: pw,
                    display_name,
                },
        } => {
            let email = db::users::normalize_email(&email);
            anyhow::ensure!(email.contains('@'), "not an email address: {email}");
            anyhow::ensure!(
                pw.chars().count() >= 8,
                "the password needs at least 8 characters"
            );
            let hash = password::hash_password(&pw).map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = display_name
                .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
            let user = db::users::create_local(&ctx.db, &email, &name, &hash).await?;
            println!("created user {} ({email})", user.id);
        }
        Command::Token { email } => {
            let user = local_user(&ctx.db, &email).await?;
            let token = ctx.jwt.issue(
                user.id,
                user.email.as_deref().unwrap_or_default(),
                user.display_name.as_deref(),
            )?;
            println!("{}", token.access_token);
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create { email, name, scope },
        } => {
            let user = local_user(&ctx.db, &email).await?;
            let key = server::create_api_key(ctx, &user, &name, scope).await?;
            eprintln!("API key created; it is shown this once:");
            println!("{key}");
        }
        Command::Persona {
            command:
                PersonaCommand::Import {
                    file,
                    email,
                    replace,
                },
        } => {
            let user = local_user(&ctx.db, &email).await?;
            let doc = server::read_persona_file(&file)?;
            let stored = match replace {
                Some(id) => {
                    let existing = db::personas::get(&ctx.db, id)
                        .await?
                        .context("no such persona")?;
                    anyhow::ensure!(
                        existing.owner_id == user.id,
                        "that persona belongs to another account"
                    );
                    db::personas::replace(&ctx.db, id, &doc)
                        .await?
                        .context("no such persona")?
                }
                None => db::personas::create(&ctx.db, user.id, &doc).await?,
            };
            println!("{}  {}", stored.id, stored.name);
        }
        Command::Persona {
            command: PersonaCommand::Export { id, format },
        } => {
            let persona = db::personas::get(&ctx.db, id)
                .await?
                .with_context(|| format!("no persona {id}"))?;
            let doc = persona.document_with_ids();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
                Format::Yaml => print!("{}", serde_yaml::to_string(&doc)?),
            }
        }
    }
    Ok(())
}

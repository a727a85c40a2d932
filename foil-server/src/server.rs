//! Running the server: start-up (database, secrets, logging), the demo data, serving with
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use axum::http::Request;
use foil_types::persona::{Limits, PersonaDocument};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::app;
use crate::auth::{api_key, password};
use crate::config::{Config, LogFormat};
use crate::context::ApiContext;
use crate::db::{self, users::User, Db};
use crate::redact::redact_url;

/// Installs the global tracing subscriber (`RUST_LOG`, default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Makes sure a JWT secret is configured. Without one, SQLite deployments get a development
/// secret generated once and kept beside the database file (0600); PostgreSQL deployments
/// (usually several instances) must configure one explicitly.
pub fn resolve_jwt_secret(config: &mut Config) -> anyhow::Result<()> {
    if config.jwt_secret.is_some() {
        return Ok(());
    }
    let Some(db_path) = config.sqlite_path() else {
        bail!(
            "FOIL_JWT_SECRET is required with {} (every instance must share it)",
            redact_url(&config.database_url)
        );
    };
    let path = secret_path(&db_path);
    let secret = match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => {
            keep_private(&path)?;
            s.trim().to_string()
        }
        _ => {
            let secret = api_key::generate().replace(api_key::KEY_PREFIX, "")
                + &api_key::generate().replace(api_key::KEY_PREFIX, "");
            write_private(&path, &secret)
                .with_context(|| format!("cannot write {}", path.display()))?;
            secret
        }
    };
    tracing::warn!(
        path = %path.display(),
        "FOIL_JWT_SECRET is not set: using a development secret kept beside the database. \
         Set FOIL_JWT_SECRET (e.g. your Supabase JWT secret) in production."
    );
    config.jwt_secret = Some(secret);
    Ok(())
}

/// Puts the secret file back to owner-only (0600) when someone loosened it, on every start: a
/// copied or restored file often comes back world-readable.
fn keep_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} private", path.display()))?;
            tracing::warn!(path = %path.display(), "the JWT secret file was readable by others; it is owner-only again");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".jwt-secret");
    db_path.with_file_name(name)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

/// Opens and migrates the configured database.
pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect_with_timeout(
        &config.database_url,
        config.database_max_connections,
        Duration::from_secs(config.database_timeout_secs.max(1)),
    )
    .await
    .with_context(|| format!("cannot open {}", redact_url(&config.database_url)))?;
    db.migrate().await.context("database migration failed")?;
    Ok(db)
}

/// Starts everything and serves until SIGINT/SIGTERM.
pub async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    resolve_jwt_secret(&mut config)?;
    let db = open_db(&config).await?;
    let ctx = ApiContext::new(config.clone(), db.clone()).await?;
    if demo {
        let seeded = seed_demo(&ctx).await?;
        print_demo(&seeded, config.bind);
    }
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact_url(&config.database_url),
        "Foil Engine server listening"
    );
    run(listener, ctx, shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `ctx` on `listener` until `shutdown` completes, then lets running requests finish
/// for at most the configured grace period.
///
/// Our own accept loop over hyper-util rather than `axum::serve`, which has no header-read
/// timeout: a client that trickles its request head is disconnected after
/// `header_read_timeout_secs` instead of holding a connection for ever.
pub async fn run(
    listener: TcpListener,
    ctx: ApiContext,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt as _;
    let grace = Duration::from_secs(ctx.config.shutdown_grace_secs);
    let header_timeout = Duration::from_secs(ctx.config.header_read_timeout_secs.max(1));
    let router = app::router(ctx);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small request/response exchanges: never wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing running requests");
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "grace period over; closing remaining connections"
            );
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// Reads a persona document from a `.json`, `.yaml` or `.yml` file and validates it.
pub fn read_persona_file(path: &Path) -> anyhow::Result<PersonaDocument> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let doc: PersonaDocument = if is_yaml {
        serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        PersonaDocument::from_json(text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    };
    let review = doc.review(&Limits::default());
    let list = |issues: &[foil_types::persona::ValidationIssue]| {
        issues
            .iter()
            .map(|i| format!("  {}: {}", i.path, i.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !review.errors.is_empty() {
        bail!(
            "{} is not a valid persona:\n{}",
            path.display(),
            list(&review.errors)
        );
    }
    if !review.warnings.is_empty() {
        eprintln!(
            "{}: accepted, with warnings:\n{}",
            path.display(),
            list(&review.warnings)
        );
    }
    Ok(doc)
}

/// The account that owns `email`, or an error naming the command that creates it.
pub async fn local_user(db: &Db, email: &str) -> anyhow::Result<User> {
    db::users::find_local_by_email(db, &db::users::normalize_email(email))
        .await?
        .map(|(user, _)| user)
        .with_context(|| {
            format!("no account with email {email}; create one with `foil-server user create`")
        })
}

/// Creates an API key of `scope` for `user`, returning the plaintext (shown once).
pub async fn create_api_key(
    ctx: &ApiContext,
    user: &User,
    name: &str,
    scope: api_key::KeyScope,
) -> anyhow::Result<String> {
    let key = api_key::generate();
    store_api_key(ctx, user, name, &key, scope).await?;
    Ok(key)
}

/// Stores `key` for `user`, within the per-account cap.
async fn store_api_key(
    ctx: &ApiContext,
    user: &User,
    name: &str,
    key: &str,
    scope: api_key::KeyScope,
) -> anyhow::Result<()> {
    let max = ctx.config.max_api_keys_per_account;
    let stored = db::api_keys::insert_capped(
        &ctx.db,
        db::api_keys::NewKey {
            id: Uuid::new_v4(),
            user_id: user.id,
            name,
            key_hash: &ctx.key_hasher.hash(key),
            key_hint: &api_key::hint(key),
            scope,
            created_at: &db::now(),
        },
        max,
    )
    .await?;
    if !stored {
        bail!("this account already has {max} active API keys (FOIL_MAX_API_KEYS_PER_ACCOUNT); revoke one first");
    }
    Ok(())
}

/// The demo account's key: derived from the JWT secret, so every `serve --demo` start shows
/// the same key instead of minting another. Revoked, it is replaced by a fresh random one.
async fn demo_api_key(ctx: &ApiContext, user: &User) -> anyhow::Result<String> {
    let secret = ctx
        .config
        .jwt_secret
        .as_deref()
        .context("the JWT secret is set before the demo is seeded")?;
    let key = api_key::derived(secret.as_bytes(), &format!("demo api key {}", user.id));
    match db::api_keys::find_by_hash(&ctx.db, &ctx.key_hasher.hash(&key)).await? {
        Some(stored) if !stored.revoked => Ok(key),
        Some(_) => create_api_key(ctx, user, "demo", api_key::KeyScope::Full).await,
        None => {
            store_api_key(ctx, user, "demo", &key, api_key::KeyScope::Full).await?;
            Ok(key)
        }
    }
}

/// What `serve --demo` made.
pub struct DemoData {
    /// The demo account's email.
    pub email: String,
    /// A fresh API key of that account (shown once).
    pub api_key: String,
    /// A JWT of that account, for the creator routes.
    pub access_token: String,
    /// The imported example personas: id and name.
    pub personas: Vec<(Uuid, String)>,
}

const DEMO_EMAIL: &str = "demo@foil.local";

/// The example personas shipped with the server, found next to the working directory or the
/// source tree.
pub fn examples_dir() -> Option<PathBuf> {
    [
        PathBuf::from("examples/personas"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/personas"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Creates (or refreshes) the demo account, imports and publishes the example personas
/// (replacing earlier demo copies by name, so ids stay stable), and returns its API key (the
/// same on every start).
pub async fn seed_demo(ctx: &ApiContext) -> anyhow::Result<DemoData> {
    let user = match local_user(&ctx.db, DEMO_EMAIL).await {
        Ok(user) => user,
        Err(_) => {
            let secret = api_key::generate();
            let hash = password::hash_password(&secret).map_err(|e| anyhow::anyhow!("{e}"))?;
            db::users::create_local(&ctx.db, DEMO_EMAIL, "Demo Creator", &hash).await?
        }
    };
    let dir =
        examples_dir().context("examples/personas not found: run from the repository root")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    let existing =
        db::personas::list(&ctx.db, db::personas::Listing::Owned(user.id), 100, 0).await?;
    let mut personas = Vec::new();
    for file in files {
        let mut doc = read_persona_file(&file)?;
        doc.persona.is_published = true;
        doc.persona.is_public = true;
        let stored = match existing.iter().find(|p| p.name == doc.persona.name) {
            Some(old) => db::personas::replace(&ctx.db, old.id, &doc)
                .await?
                .context("demo persona vanished")?,
            None => db::personas::create(&ctx.db, user.id, &doc).await?,
        };
        personas.push((stored.id, stored.name));
    }
    let api_key = demo_api_key(ctx, &user).await?;
    let access_token = ctx
        .jwt
        .issue(user.id, DEMO_EMAIL, user.display_name.as_deref())?
        .access_token;
    Ok(DemoData {
        email: DEMO_EMAIL.into(),
        api_key,
        access_token,
        personas,
    })
}

fn print_demo(demo: &DemoData, bind: SocketAddr) {
    println!("\nFoil Engine demo is ready on http://{bind}");
    println!("  account:   {}", demo.email);
    println!(
        "  API key:   {}   (the same on every start; send it as X-API-Key)",
        demo.api_key
    );
    println!("  JWT:       {}", demo.access_token);
    println!("  personas:");
    for (id, name) in &demo.personas {
        println!("    {id}  {name}");
    }
    println!(
        "\n  try: curl -H 'X-API-Key: {}' http://{bind}/api/v1/sdk/personas\n",
        demo.api_key
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_development_secret_is_made_private_on_every_start() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("foil.db");
        let config = || Config {
            database_url: format!("sqlite://{}", db.display()),
            ..Config::default()
        };
        let mut first = config();
        resolve_jwt_secret(&mut first).unwrap();
        let file = secret_path(&db);
        let mode = |f: &Path| std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut second = config();
        resolve_jwt_secret(&mut second).unwrap();
        assert_eq!(second.jwt_secret, first.jwt_secret, "the same secret");
        assert_eq!(mode(&file), 0o600, "private again");
    }
}

//! Storage: one sqlx `Any` pool over SQLite (default) or PostgreSQL, one portable schema
//! (`migrations/`), and one repository module per table group.
//!
//! Ids are stored as UUID strings and timestamps as fixed-width RFC 3339 strings, so the same
//! queries run on both databases. Placeholders are written `$1`, which both accept.

pub(crate) mod api_keys;
pub(crate) mod creator_sessions;
pub(crate) mod personas;
pub(crate) mod sessions;
pub(crate) mod usage;
pub(crate) mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use tokio::sync::{Mutex, MutexGuard};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    /// A SQLite file (one writer at a time).
    Sqlite,
    /// PostgreSQL (several instances may share it).
    Postgres,
}

/// The connection pool plus what differs between the two databases.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
    /// SQLite allows one writer at a time; taking this lock before a write transaction keeps
    /// our own transactions from failing with SQLITE_BUSY instead of waiting their turn.
    sqlite_writer: Arc<Mutex<()>>,
}

/// A write transaction; for SQLite it also holds the single-writer lock until it ends.
pub struct WriteTx<'a> {
    /// The open transaction.
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    _writer: Option<MutexGuard<'a, ()>>,
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl WriteTx<'_> {
    /// Commits (and, for SQLite, lets the next writer in).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects (creating a SQLite file if needed) without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        Self::connect_with_timeout(url, max_connections, Duration::from_secs(5)).await
    }

    /// Connects; requests wait at most `acquire_timeout` for a connection (then 503).
    pub async fn connect_with_timeout(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else {
            return Err(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let url = match kind {
            DbKind::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        // WAL: readers never block the writer, and a killed process loses no
                        // committed transaction. NORMAL sync is durable across process crashes.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Db {
            pool,
            kind,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// Applies every pending migration.
    /// Applies the migrations not applied yet.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }

    /// The pool, for queries outside a write transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a write transaction (see [`Db::sqlite_writer`]).
    pub async fn begin_write(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        let writer = match self.kind {
            DbKind::Sqlite => Some(self.sqlite_writer.lock().await),
            DbKind::Postgres => None,
        };
        let tx = match self.kind {
            // IMMEDIATE takes SQLite's write lock at BEGIN, where the busy timeout applies. A
            // deferred transaction that reads first and writes later is answered SQLITE_BUSY at
            // once (no busy wait: "database is locked") whenever another connection is in the
            // middle of an autocommit write such as `claim_turn` or an API key's `touch`.
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            DbKind::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            _writer: writer,
        })
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// Now, as stored: RFC 3339 UTC with microseconds and a `Z`, fixed width so text order is
/// time order.
pub fn now() -> String {
    format_time(chrono::Utc::now())
}

/// `t` in the stored form of [`now`].
pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Whether an error is a unique-constraint violation (both databases).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(e) => {
            matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation)
        }
        _ => false,
    }
}

/// Whether an error means the database cannot be reached (→ 503), rather than a bug (→ 500).
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// Reads a UUID stored as text.
pub fn get_uuid(row: &AnyRow, column: &str) -> Result<uuid::Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

/// Reads a boolean selected as `CASE WHEN col THEN 1 ELSE 0 END` (sqlx's `Any` driver cannot
/// decode SQLite's BOOLEAN; the integer form works on both databases).
pub fn get_bool(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<i64, _>(column)
        .or_else(|_| row.try_get::<i32, _>(column).map(i64::from))
        .map(|v| v != 0)
}

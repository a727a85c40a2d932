//! Per-process memories that spare the database a write per request: the users already
//! recorded (a JWT request writes only on first sight or when the anonymous flag changes) and
//! when each API key's use was last recorded (`last_used_at` has a one-minute resolution).
//! Both are bounded; past the bound they start over, which only repeats a harmless write.

use std::sync::Arc;
use std::time::Instant;

use dashmap::DashMap;
use uuid::Uuid;

use crate::db::users::User;
use crate::db::{self, Db};
use crate::error::ApiError;

/// Entries each memory holds at most.
const CAPACITY: usize = 100_000;

/// Users already recorded, with their anonymous flag.
#[derive(Default)]
pub(crate) struct SeenUsers(DashMap<Uuid, bool>);

impl SeenUsers {
    /// Records a user seen in a valid token (first sight creates the row).
    pub(crate) async fn remember(&self, db: &Db, user: &User) -> Result<(), ApiError> {
        if self.0.get(&user.id).as_deref() == Some(&user.is_anonymous) {
            return Ok(());
        }
        db::users::upsert_seen(db, user).await?;
        if self.0.len() >= CAPACITY {
            self.0.clear();
        }
        self.0.insert(user.id, user.is_anonymous);
        Ok(())
    }
}

/// How often `last_used_at` is refreshed at most, so a busy key does not write on every call.
const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// When this process last recorded each API key's use, so a busy key costs one database write
/// a minute instead of one per request.
#[derive(Clone, Default)]
pub(crate) struct KeyUses(Arc<DashMap<Uuid, Instant>>);

impl KeyUses {
    /// Records that `key` was used now, unless this process did within the minute. The write
    /// runs off the request path: a lost timestamp update is harmless.
    pub(crate) fn record(&self, db: &Db, key: Uuid) {
        let resolution = LAST_USED_RESOLUTION.to_std().unwrap_or_default();
        if self.0.get(&key).is_some_and(|at| at.elapsed() < resolution) {
            return;
        }
        let now = chrono::Utc::now();
        let (db, uses) = (db.clone(), self.0.clone());
        tokio::spawn(async move {
            let stale_before = db::format_time(now - LAST_USED_RESOLUTION);
            match db::api_keys::touch(&db, key, &db::format_time(now), &stale_before).await {
                Ok(()) => {
                    if uses.len() >= CAPACITY {
                        uses.clear();
                    }
                    uses.insert(key, Instant::now());
                }
                Err(e) => tracing::debug!(error = %e, "could not record API key use"),
            }
        });
    }
}

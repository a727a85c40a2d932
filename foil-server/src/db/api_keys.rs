//! API keys: only their hash is stored; the plaintext exists once, in the creation response.

use sqlx::Row;
use uuid::Uuid;

use super::{get_uuid, Db};
use crate::auth::api_key::KeyScope;

/// A stored scope; anything unknown is treated as the narrowest (`mint`), never as `full`.
fn scope_of(row: &sqlx::any::AnyRow) -> Result<KeyScope, sqlx::Error> {
    let raw: String = row.try_get("scope")?;
    Ok(KeyScope::parse(&raw).unwrap_or(KeyScope::Mint))
}

/// A key as its owner sees it in the list (never the key itself).
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyInfo {
    pub id: Uuid,
    pub name: String,
    pub key_hint: String,
    pub scope: KeyScope,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// What authenticating a key needs.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub key_hash: String,
    pub scope: KeyScope,
    pub revoked: bool,
}

pub(crate) struct NewKey<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub key_hint: &'a str,
    pub scope: KeyScope,
    pub created_at: &'a str,
}

/// Stores `key` unless its account already has `max_active` active keys; returns whether it
/// was stored. The count and the insert are one statement, so a burst of creations cannot slip
/// past the cap between a check and an insert (beyond what runs at the very same instant).
pub(crate) async fn insert_capped(
    db: &Db,
    key: NewKey<'_>,
    max_active: u32,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, key_hash, key_hint, created_at, scope) \
         SELECT $1, $2, $3, $4, $5, $6, $8 WHERE (SELECT COUNT(*) FROM api_keys \
           WHERE user_id = $2 AND revoked_at IS NULL) < $7",
    )
    .bind(key.id.to_string())
    .bind(key.user_id.to_string())
    .bind(key.name)
    .bind(key.key_hash)
    .bind(key.key_hint)
    .bind(key.created_at)
    .bind(i64::from(max_active))
    .bind(key.scope.as_str())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The caller's active keys, oldest first.
pub(crate) async fn list_active(db: &Db, user_id: Uuid) -> Result<Vec<ApiKeyInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, key_hint, scope, created_at, last_used_at FROM api_keys \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
    )
    .bind(user_id.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiKeyInfo {
                id: get_uuid(row, "id")?,
                name: row.try_get("name")?,
                key_hint: row.try_get("key_hint")?,
                scope: scope_of(row)?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Revokes one of the caller's active keys; false when there is no such key.
pub(crate) async fn revoke(
    db: &Db,
    user_id: Uuid,
    key_id: Uuid,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 \
         WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(key_id.to_string())
    .bind(user_id.to_string())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The key whose hash this is (an indexed lookup).
pub(crate) async fn find_by_hash(
    db: &Db,
    key_hash: &str,
) -> Result<Option<StoredKey>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, user_id, key_hash, scope, revoked_at FROM api_keys WHERE key_hash = $1",
    )
    .bind(key_hash)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(StoredKey {
            id: get_uuid(&row, "id")?,
            user_id: get_uuid(&row, "user_id")?,
            key_hash: row.try_get("key_hash")?,
            scope: scope_of(&row)?,
            revoked: row.try_get::<Option<String>, _>("revoked_at")?.is_some(),
        })
    })
    .transpose()
}

/// Whether `key_id` is an active `mint` key of `user_id` (one indexed lookup): a player token
/// is honoured only while the key that minted it is.
pub(crate) async fn is_active_mint_key(
    db: &Db,
    key_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT scope FROM api_keys WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(key_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| scope_of(&row).map(|s| s == KeyScope::Mint))
        .transpose()
        .map(|mint| mint.unwrap_or(false))
}

/// Records use of a key, at most once per `stale_before` interval to keep writes rare.
pub(crate) async fn touch(
    db: &Db,
    key_id: Uuid,
    now: &str,
    stale_before: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(key_id.to_string())
    .bind(stale_before)
    .execute(db.pool())
    .await?;
    Ok(())
}

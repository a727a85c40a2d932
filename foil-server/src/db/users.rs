//! Accounts: users first seen through a Supabase JWT, and self-hosted email/password users.

use sqlx::Row;
use uuid::Uuid;

use super::{get_bool, get_uuid, is_unique_violation, now, Db};

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub is_anonymous: bool,
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: get_uuid(row, "id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        is_anonymous: get_bool(row, "is_anonymous")?,
    })
}

/// Records a user seen in a valid token: created on first sight, and the anonymous flag,
/// email and name kept current (an anonymous Supabase user can become a permanent one).
pub(crate) async fn upsert_seen(db: &Db, user: &User) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, is_anonymous, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET is_anonymous = excluded.is_anonymous, \
           email = COALESCE(excluded.email, users.email), \
           display_name = COALESCE(users.display_name, excluded.display_name)",
    )
    .bind(user.id.to_string())
    .bind(user.email.as_deref())
    .bind(user.display_name.as_deref())
    .bind(user.is_anonymous)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Why a local account could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a self-hosted account. `email` must already be normalised (trimmed, lowercase).
pub(crate) async fn create_local(
    db: &Db,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<User, CreateUserError> {
    let id = Uuid::new_v4();
    let result = sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, is_anonymous, created_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(display_name)
    .bind(password_hash)
    .bind(now())
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => Ok(User {
            id,
            email: Some(email.to_string()),
            display_name: Some(display_name.to_string()),
            is_anonymous: false,
        }),
        Err(e) if is_unique_violation(&e) => Err(CreateUserError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// A self-hosted account and its password hash, by (normalised) email.
pub(crate) async fn find_local_by_email(
    db: &Db,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, display_name, CASE WHEN is_anonymous THEN 1 ELSE 0 END AS is_anonymous, \
         password_hash FROM users \
         WHERE email = $1 AND password_hash IS NOT NULL",
    )
    .bind(email)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

/// Normalises an email for storage and lookup.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

//! Personas: one row per persona holding its document, plus one row per machine so machine ids
//! stay stable (sessions point at them) while the document is replaced as a whole.

use foil_types::persona::PersonaDocument;
use sqlx::Row;
use uuid::Uuid;

use super::{get_bool, get_uuid, now, Db};

/// A stored persona with its parsed document.
#[derive(Debug, Clone)]
pub(crate) struct StoredPersona {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub is_published: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The document without ids; `persona.is_public`/`is_published` follow the columns.
    pub document: PersonaDocument,
    /// `(machine_key, machine_id)` in document order.
    pub machine_ids: Vec<(String, Uuid)>,
}

impl StoredPersona {
    pub(crate) fn machine_id(&self, key: &str) -> Option<Uuid> {
        self.machine_ids
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, id)| *id)
    }

    pub(crate) fn machine_key(&self, id: Uuid) -> Option<&str> {
        self.machine_ids
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(k, _)| k.as_str())
    }

    /// The document with the server's ids filled in (`GET .../full`, `persona export`).
    pub(crate) fn document_with_ids(&self) -> PersonaDocument {
        let mut doc = self.document.clone();
        doc.persona.id = Some(self.id);
        for machine in &mut doc.machines {
            machine.id = self.machine_id(&machine.machine_key);
        }
        doc
    }
}

/// A persona without its definition.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema, Debug, Clone, PartialEq)]
pub(crate) struct PersonaSummary {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub is_published: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Booleans are selected as 0/1: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
const SUMMARY_COLUMNS: &str = "id, name, description, \
    CASE WHEN is_public THEN 1 ELSE 0 END AS is_public, \
    CASE WHEN is_published THEN 1 ELSE 0 END AS is_published, created_at, updated_at";

fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<PersonaSummary, sqlx::Error> {
    Ok(PersonaSummary {
        id: get_uuid(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        is_public: get_bool(row, "is_public")?,
        is_published: get_bool(row, "is_published")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// Stores a validated document as a new persona of `owner_id`.
pub(crate) async fn create(
    db: &Db,
    owner_id: Uuid,
    doc: &PersonaDocument,
) -> Result<StoredPersona, sqlx::Error> {
    let id = Uuid::new_v4();
    let doc = doc.clone().without_ids();
    let ts = now();
    let json = serde_json::to_string(&doc).map_err(decode_error)?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO personas (id, owner_id, name, description, is_public, is_published, \
         document, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id.to_string())
    .bind(owner_id.to_string())
    .bind(&doc.persona.name)
    .bind(doc.persona.description.as_deref())
    .bind(doc.persona.is_public)
    .bind(doc.persona.is_published)
    .bind(json)
    .bind(&ts)
    .execute(&mut *tx.tx)
    .await?;
    let mut machine_ids = Vec::with_capacity(doc.machines.len());
    for (position, machine) in doc.machines.iter().enumerate() {
        let machine_id = Uuid::new_v4();
        insert_machine(&mut tx.tx, id, machine_id, &machine.machine_key, position).await?;
        machine_ids.push((machine.machine_key.clone(), machine_id));
    }
    tx.commit().await?;
    Ok(StoredPersona {
        id,
        owner_id,
        name: doc.persona.name.clone(),
        description: doc.persona.description.clone(),
        is_public: doc.persona.is_public,
        is_published: doc.persona.is_published,
        created_at: ts.clone(),
        updated_at: ts,
        document: doc,
        machine_ids,
    })
}

async fn insert_machine(
    conn: &mut sqlx::AnyConnection,
    persona_id: Uuid,
    machine_id: Uuid,
    key: &str,
    position: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO machines (id, persona_id, machine_key, position) VALUES ($1, $2, $3, $4)",
    )
    .bind(machine_id.to_string())
    .bind(persona_id.to_string())
    .bind(key)
    .bind(position as i64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the definition of an existing persona in one transaction. Machines keep their ids
/// by `machine_key`; machines that disappeared are removed with their sessions. Returns `None`
/// when the persona does not exist.
pub(crate) async fn replace(
    db: &Db,
    id: Uuid,
    doc: &PersonaDocument,
) -> Result<Option<StoredPersona>, sqlx::Error> {
    let doc = doc.clone().without_ids();
    let json = serde_json::to_string(&doc).map_err(decode_error)?;
    let ts = now();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE personas SET name = $1, description = $2, is_public = $3, is_published = $4, \
         document = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&doc.persona.name)
    .bind(doc.persona.description.as_deref())
    .bind(doc.persona.is_public)
    .bind(doc.persona.is_published)
    .bind(json)
    .bind(&ts)
    .bind(id.to_string())
    .execute(&mut *tx.tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let existing = machine_ids_in(&mut tx.tx, id).await?;
    for (key, machine_id) in &existing {
        if doc.machine(key).is_none() {
            sqlx::query("DELETE FROM machines WHERE id = $1")
                .bind(machine_id.to_string())
                .execute(&mut *tx.tx)
                .await?;
        }
    }
    for (position, machine) in doc.machines.iter().enumerate() {
        match existing.iter().find(|(k, _)| *k == machine.machine_key) {
            Some((_, machine_id)) => {
                sqlx::query("UPDATE machines SET position = $1 WHERE id = $2")
                    .bind(position as i64)
                    .bind(machine_id.to_string())
                    .execute(&mut *tx.tx)
                    .await?;
            }
            None => {
                insert_machine(
                    &mut tx.tx,
                    id,
                    Uuid::new_v4(),
                    &machine.machine_key,
                    position,
                )
                .await?
            }
        }
    }
    tx.commit().await?;
    get(db, id).await
}

async fn machine_ids_in(
    conn: &mut sqlx::AnyConnection,
    persona_id: Uuid,
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, machine_key FROM machines WHERE persona_id = $1 ORDER BY position")
            .bind(persona_id.to_string())
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("machine_key")?, get_uuid(row, "id")?)))
        .collect()
}

/// A persona with its document and machine ids.
pub(crate) async fn get(db: &Db, id: Uuid) -> Result<Option<StoredPersona>, sqlx::Error> {
    let Some(row) = sqlx::query(&format!(
        "SELECT owner_id, document, {SUMMARY_COLUMNS} FROM personas WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let summary = summary_from_row(&row)?;
    let document: String = row.try_get("document")?;
    let mut document: PersonaDocument = serde_json::from_str(&document).map_err(decode_error)?;
    document.persona.is_public = summary.is_public;
    document.persona.is_published = summary.is_published;
    let mut conn = db.pool().acquire().await?;
    let machine_ids = machine_ids_in(&mut conn, id).await?;
    Ok(Some(StoredPersona {
        id,
        owner_id: get_uuid(&row, "owner_id")?,
        name: summary.name,
        description: summary.description,
        is_public: summary.is_public,
        is_published: summary.is_published,
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        document,
        machine_ids,
    }))
}

/// When the persona last changed (document, publication), or `None` when it does not exist:
/// the freshness probe of the chat's persona cache.
pub(crate) async fn updated_at(db: &Db, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT updated_at FROM personas WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await
}

/// One persona's summary.
pub(crate) async fn get_summary(
    db: &Db,
    id: Uuid,
) -> Result<Option<(Uuid, PersonaSummary)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT owner_id, {SUMMARY_COLUMNS} FROM personas WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| Ok((get_uuid(&row, "owner_id")?, summary_from_row(&row)?)))
        .transpose()
}

/// Which personas a listing shows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listing {
    /// Published and public: anyone may browse them.
    Public,
    /// Everything the owner has, drafts too.
    Owned(Uuid),
    /// Public listing plus everything the caller owns.
    PublicOrOwned(Uuid),
    /// What an API key of this account reaches: the account's published personas.
    PublishedOwned(Uuid),
}

/// A page of personas, newest first.
pub(crate) async fn list(
    db: &Db,
    listing: Listing,
    limit: i64,
    offset: i64,
) -> Result<Vec<PersonaSummary>, sqlx::Error> {
    let (filter, owner) = match listing {
        Listing::Public => ("is_public = TRUE AND is_published = TRUE", None),
        Listing::Owned(owner) => ("owner_id = $3", Some(owner)),
        Listing::PublicOrOwned(owner) => (
            "((is_public = TRUE AND is_published = TRUE) OR owner_id = $3)",
            Some(owner),
        ),
        Listing::PublishedOwned(owner) => ("owner_id = $3 AND is_published = TRUE", Some(owner)),
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM personas WHERE {filter} \
         ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
    );
    let mut query = sqlx::query(&sql).bind(limit).bind(offset);
    if let Some(owner) = owner {
        query = query.bind(owner.to_string());
    }
    let rows = query.fetch_all(db.pool()).await?;
    rows.iter().map(summary_from_row).collect()
}

/// Publishes or unpublishes; returns the new summary, or `None` if the persona is gone.
pub(crate) async fn set_published(
    db: &Db,
    id: Uuid,
    published: bool,
) -> Result<Option<PersonaSummary>, sqlx::Error> {
    sqlx::query("UPDATE personas SET is_published = $1, updated_at = $2 WHERE id = $3")
        .bind(published)
        .bind(now())
        .bind(id.to_string())
        .execute(db.pool())
        .await?;
    Ok(get_summary(db, id).await?.map(|(_, s)| s))
}

/// Deletes a persona; its machines, sessions, messages, unlocks and memories go with it.
pub(crate) async fn delete(db: &Db, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM personas WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

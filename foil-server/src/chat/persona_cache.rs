//! One parsed copy of each persona for every turn that uses it.
//!
//! A turn used to read the persona's document and machines (two queries) and parse the
//! document, and every open stream held its own copy. Now each request asks the database only
//! for the persona's `updated_at` — one indexed read — and reuses the shared
//! `Arc<StoredPersona>` when it is unchanged. Every save, publish change and delete moves or
//! removes `updated_at` (microsecond stamps), so an instance never serves a persona older than
//! the database, whichever instance wrote it. Bounded: past the bound the cache starts over.

use std::sync::Arc;

use dashmap::DashMap;
use uuid::Uuid;

use crate::db::personas::{self, StoredPersona};
use crate::db::Db;

/// Personas the cache holds at most.
const CAPACITY: usize = 1_000;

/// See the module documentation.
#[derive(Default)]
pub(crate) struct PersonaCache(DashMap<Uuid, Arc<StoredPersona>>);

impl PersonaCache {
    /// The persona as the database has it now; `None` when it does not exist.
    pub(crate) async fn get(
        &self,
        db: &Db,
        id: Uuid,
    ) -> Result<Option<Arc<StoredPersona>>, sqlx::Error> {
        let Some(updated_at) = personas::updated_at(db, id).await? else {
            self.0.remove(&id);
            return Ok(None);
        };
        if let Some(cached) = self.0.get(&id) {
            if cached.updated_at == updated_at {
                return Ok(Some(cached.clone()));
            }
        }
        let Some(fresh) = personas::get(db, id).await? else {
            self.0.remove(&id);
            return Ok(None);
        };
        let fresh = Arc::new(fresh);
        if self.0.len() >= CAPACITY {
            self.0.clear();
        }
        self.0.insert(id, fresh.clone());
        Ok(Some(fresh))
    }
}

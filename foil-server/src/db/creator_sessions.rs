//! The persona owner's view of its players' sessions (the dashboard's "why did my NPC do
//! that?"): every channel's sessions of one persona, filtered and paged.

use sqlx::Row;
use uuid::Uuid;

use super::{get_uuid, Db};

/// Which sessions to list.
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionFilter {
    pub machine_id: Option<Uuid>,
    /// `Some(None)`: only running sessions; `Some(Some("ACCEPT"))`: only that outcome.
    pub outcome: Option<Option<String>>,
    /// `sdk` or `web`: the stored scope's prefix.
    pub channel: Option<&'static str>,
}

/// A session as its persona's owner sees it.
#[derive(Debug, Clone)]
pub(crate) struct SessionOverview {
    pub id: Uuid,
    /// `sdk` (played through an API key) or `web` (web chat, the dashboard's playtest too).
    pub channel: String,
    pub user_session_id: String,
    pub player_name: String,
    pub player_gender: String,
    pub machine_id: Uuid,
    pub machine_key: String,
    pub current_state: String,
    pub score: i64,
    pub outcome: Option<String>,
    pub message_count: i64,
    pub started_at: String,
    pub last_active_at: String,
}

const OVERVIEW_COLUMNS: &str = "s.id, s.scope, s.user_session_id, s.player_name, \
    s.player_gender, s.machine_id, m.machine_key, s.current_state, s.score, s.outcome, \
    s.started_at, s.last_active_at, \
    (SELECT COUNT(*) FROM chat_messages c WHERE c.session_id = s.id) AS message_count";

fn overview_from_row(row: &sqlx::any::AnyRow) -> Result<SessionOverview, sqlx::Error> {
    let scope: String = row.try_get("scope")?;
    Ok(SessionOverview {
        id: get_uuid(row, "id")?,
        channel: scope.split(':').next().unwrap_or_default().to_string(),
        user_session_id: row.try_get("user_session_id")?,
        player_name: row.try_get("player_name")?,
        player_gender: row.try_get("player_gender")?,
        machine_id: get_uuid(row, "machine_id")?,
        machine_key: row.try_get("machine_key")?,
        current_state: row.try_get("current_state")?,
        score: row.try_get("score")?,
        outcome: row.try_get("outcome")?,
        message_count: row.try_get("message_count")?,
        started_at: row.try_get("started_at")?,
        last_active_at: row.try_get("last_active_at")?,
    })
}

/// One page of a persona's sessions, most recently active first, and how many match in all.
pub(crate) async fn list(
    db: &Db,
    persona_id: Uuid,
    filter: &SessionFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SessionOverview>, i64), sqlx::Error> {
    // Placeholders are numbered in the order the values are bound below.
    let mut conditions = vec!["s.persona_id = $1".to_string()];
    let mut values = vec![persona_id.to_string()];
    let mut bind = |condition: &str, value: String| {
        values.push(value);
        conditions.push(condition.replace('?', &format!("${}", values.len())));
    };
    if let Some(machine_id) = filter.machine_id {
        bind("s.machine_id = ?", machine_id.to_string());
    }
    if let Some(Some(outcome)) = &filter.outcome {
        bind("s.outcome = ?", outcome.clone());
    }
    if let Some(channel) = filter.channel {
        bind("s.scope LIKE ?", format!("{channel}:%"));
    }
    if let Some(None) = filter.outcome {
        conditions.push("s.outcome IS NULL".into());
    }
    let filter_sql = conditions.join(" AND ");

    let count_sql = format!("SELECT COUNT(*) FROM chat_sessions s WHERE {filter_sql}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for value in &values {
        count = count.bind(value);
    }
    let total = count.fetch_one(db.pool()).await?;

    let n = values.len();
    let page_sql = format!(
        "SELECT {OVERVIEW_COLUMNS} FROM chat_sessions s JOIN machines m ON m.id = s.machine_id \
         WHERE {filter_sql} ORDER BY s.last_active_at DESC, s.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut page = sqlx::query(&page_sql);
    for value in &values {
        page = page.bind(value);
    }
    let rows = page.bind(limit).bind(offset).fetch_all(db.pool()).await?;
    let sessions = rows
        .iter()
        .map(overview_from_row)
        .collect::<Result<_, _>>()?;
    Ok((sessions, total))
}

/// One session of a persona (`None` when it does not exist or belongs to another persona).
pub(crate) async fn get(
    db: &Db,
    persona_id: Uuid,
    session_id: Uuid,
) -> Result<Option<SessionOverview>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {OVERVIEW_COLUMNS} FROM chat_sessions s JOIN machines m ON m.id = s.machine_id \
         WHERE s.persona_id = $1 AND s.id = $2"
    ))
    .bind(persona_id.to_string())
    .bind(session_id.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(overview_from_row).transpose()
}

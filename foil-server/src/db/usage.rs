//! LLM usage per day (`llm_usage_daily`): added to in batches, read for budgets and reports.

use std::ops::AddAssign;

use sqlx::Row;
use uuid::Uuid;

use super::Db;

/// One row's identity: the day (UTC), who pays (account, key), for what (persona), and which
/// model and step. `None` key / persona are stored as `''`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UsageKey {
    pub day: String,
    pub user_id: Uuid,
    pub api_key_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    pub provider: String,
    pub model: String,
    pub step: &'static str,
}

/// What is counted per row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct UsageCounts {
    pub calls: i64,
    /// Calls whose provider reported no usage, so their tokens are estimates.
    pub estimated_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i64,
    /// Player messages answered.
    pub turns: i64,
}

impl AddAssign for UsageCounts {
    fn add_assign(&mut self, other: Self) {
        self.calls += other.calls;
        self.estimated_calls += other.estimated_calls;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.latency_ms += other.latency_ms;
        self.turns += other.turns;
    }
}

impl UsageCounts {
    /// Input plus output tokens.
    pub(crate) fn tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens
    }
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Adds `rows` to the stored days, in one transaction.
pub(crate) async fn add(db: &Db, rows: &[(UsageKey, UsageCounts)]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for (key, counts) in rows {
        sqlx::query(
            "INSERT INTO llm_usage_daily (day, user_id, api_key_id, persona_id, provider, model, step, \
               calls, estimated_calls, input_tokens, output_tokens, latency_ms, turns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (day, user_id, api_key_id, persona_id, provider, model, step) DO UPDATE SET \
               calls = llm_usage_daily.calls + excluded.calls, \
               estimated_calls = llm_usage_daily.estimated_calls + excluded.estimated_calls, \
               input_tokens = llm_usage_daily.input_tokens + excluded.input_tokens, \
               output_tokens = llm_usage_daily.output_tokens + excluded.output_tokens, \
               latency_ms = llm_usage_daily.latency_ms + excluded.latency_ms, \
               turns = llm_usage_daily.turns + excluded.turns",
        )
        .bind(&key.day)
        .bind(key.user_id.to_string())
        .bind(optional_id(key.api_key_id))
        .bind(optional_id(key.persona_id))
        .bind(&key.provider)
        .bind(&key.model)
        .bind(key.step)
        .bind(counts.calls)
        .bind(counts.estimated_calls)
        .bind(counts.input_tokens)
        .bind(counts.output_tokens)
        .bind(counts.latency_ms)
        .bind(counts.turns)
        .execute(&mut *tx.tx)
        .await?;
    }
    tx.commit().await
}

/// Whose day a budget looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payer {
    Account(Uuid),
    Key(Uuid),
}

/// The sums of every counter. PostgreSQL's SUM of BIGINT is NUMERIC, which sqlx's `Any`
/// driver cannot read, hence the casts (harmless on SQLite).
const SUMS: &str = "CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS calls, \
    CAST(COALESCE(SUM(estimated_calls), 0) AS BIGINT) AS estimated_calls, \
    CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
    CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
    CAST(COALESCE(SUM(latency_ms), 0) AS BIGINT) AS latency_ms, \
    CAST(COALESCE(SUM(turns), 0) AS BIGINT) AS turns";

fn counts(row: &sqlx::any::AnyRow) -> Result<UsageCounts, sqlx::Error> {
    let get = |column: &str| row.try_get::<i64, _>(column);
    Ok(UsageCounts {
        calls: get("calls")?,
        estimated_calls: get("estimated_calls")?,
        input_tokens: get("input_tokens")?,
        output_tokens: get("output_tokens")?,
        latency_ms: get("latency_ms")?,
        turns: get("turns")?,
    })
}

/// The stored totals of one payer's `day`.
pub(crate) async fn day_totals(
    db: &Db,
    payer: Payer,
    day: &str,
) -> Result<UsageCounts, sqlx::Error> {
    let (column, id) = match payer {
        Payer::Account(id) => ("user_id", id),
        Payer::Key(id) => ("api_key_id", id),
    };
    let sql = format!("SELECT {SUMS} FROM llm_usage_daily WHERE {column} = $1 AND day = $2");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .bind(day)
        .fetch_one(db.pool())
        .await?;
    counts(&row)
}

/// How a usage report is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GroupBy {
    Day,
    Persona,
    Key,
    Model,
    Step,
}

impl GroupBy {
    /// The query parameter value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Persona => "persona",
            GroupBy::Key => "key",
            GroupBy::Model => "model",
            GroupBy::Step => "step",
        }
    }

    /// The grouping expression: from this fixed set only, never from the request.
    fn expression(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Persona => "persona_id",
            GroupBy::Key => "api_key_id",
            GroupBy::Model => "provider || '/' || model",
            GroupBy::Step => "step",
        }
    }
}

/// An account's usage from `from` to `to` (days, inclusive), one entry per group value
/// (`''` for "no key" / "no persona"), in group order.
pub(crate) async fn report(
    db: &Db,
    user_id: Uuid,
    from: &str,
    to: &str,
    group_by: GroupBy,
) -> Result<Vec<(String, UsageCounts)>, sqlx::Error> {
    let group = group_by.expression();
    let sql = format!(
        "SELECT {group} AS grp, {SUMS} FROM llm_usage_daily \
         WHERE user_id = $1 AND day >= $2 AND day <= $3 GROUP BY {group} ORDER BY {group}"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<String, _>("grp")?, counts(row)?)))
        .collect()
}

//! `GET /api/v1/usage`: the signed-in account's LLM usage per day, persona, key, model or step.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::extract::AuthUser;
use crate::context::ApiContext;
use crate::db::usage::{GroupBy, UsageCounts};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;

/// Longest report, in days.
const MAX_DAYS: i64 = 366;
/// Days reported when `from` is not given.
const DEFAULT_DAYS: i64 = 30;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageQuery {
    /// First day (UTC, `YYYY-MM-DD`), inclusive. Default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day (UTC, `YYYY-MM-DD`), inclusive. Default: today.
    pub to: Option<String>,
    /// `day` (default), `persona`, `key`, `model` or `step`.
    #[param(inline)]
    pub group_by: Option<GroupBy>,
}

/// One group's usage.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Default)]
pub(crate) struct UsageRow {
    /// The day, persona id, API key id, `provider/model` or step; `""` for "none" (calls
    /// without a key, or generation outside a persona).
    pub group: String,
    /// LLM calls.
    pub calls: i64,
    /// Calls whose provider reported no usage: their tokens are estimated.
    pub estimated_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Player messages answered.
    pub turns: i64,
    /// Mean time of a call, in milliseconds.
    pub mean_latency_ms: i64,
}

impl UsageRow {
    fn new(group: String, c: UsageCounts) -> Self {
        UsageRow {
            group,
            calls: c.calls,
            estimated_calls: c.estimated_calls,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            turns: c.turns,
            mean_latency_ms: if c.calls > 0 {
                c.latency_ms / c.calls
            } else {
                0
            },
        }
    }
}

/// The report.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub(crate) struct UsageReport {
    pub from: String,
    pub to: String,
    pub group_by: String,
    pub rows: Vec<UsageRow>,
    /// Every row added up (`group` is `""`).
    pub total: UsageRow,
}

fn day(name: &str, raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("`{name}` must be a date, YYYY-MM-DD"),
        )
    })
}

/// The caller's LLM usage (their personas' SDK and web traffic, playtests and generation).
#[utoipa::path(get, path = "/api/v1/usage", tag = "usage", security(("jwt" = [])),
    params(UsageQuery),
    responses((status = 200, body = UsageReport), (status = 400, body = foil_types::wire::ErrorBody),
        (status = 401, body = foil_types::wire::ErrorBody)))]
async fn usage(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> ApiResult<Json<UsageReport>> {
    let to = match query.to.as_deref() {
        Some(raw) => day("to", raw)?,
        None => chrono::Utc::now().date_naive(),
    };
    let from = match query.from.as_deref() {
        Some(raw) => day("from", raw)?,
        None => to - chrono::Days::new((DEFAULT_DAYS - 1) as u64),
    };
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("`from` must be on or before `to`, at most {MAX_DAYS} days apart"),
        ));
    }
    let group_by = query.group_by.unwrap_or(GroupBy::Day);
    // What this instance has not written yet belongs in the answer.
    ctx.usage.flush().await?;
    let (from, to) = (from.to_string(), to.to_string());
    let groups = crate::db::usage::report(&ctx.db, user.id, &from, &to, group_by).await?;
    let mut total = UsageCounts::default();
    let rows = groups
        .into_iter()
        .map(|(group, counts)| {
            total += counts;
            UsageRow::new(group, counts)
        })
        .collect();
    Ok(Json(UsageReport {
        from,
        to,
        group_by: group_by.as_str().into(),
        rows,
        total: UsageRow::new(String::new(), total),
    }))
}

/// The usage route ("General" rate limit).
pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(usage))
}

//! Chat sessions, their messages, unlocked machines and per-player memory.

use foil_types::persona::Outcome;
use foil_types::wire::{ChatHistory, Message, PlayerGender, SessionStatus};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageRole {
    /// The player (`user`).
    User,
    /// The NPC (`assistant`).
    Assistant,
}

impl MessageRole {
    /// The stored and wire form.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(MessageRole::User),
            "assistant" => Some(MessageRole::Assistant),
            _ => None,
        }
    }
}

/// A text column that must hold one of a type's names (a row written by this server always
/// does; anything else is a decode error, not a guess).
fn get_parsed<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    parse_text(column, &text, parse)
}

fn parse_text<T>(
    column: &str,
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    parse(text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value `{text}`").into(),
    })
}

/// The session's outcome (`NULL` while it runs).
fn get_outcome(row: &sqlx::any::AnyRow) -> Result<Option<Outcome>, sqlx::Error> {
    use sqlx::Row;
    let text: Option<String> = row.try_get("outcome")?;
    text.map(|text| parse_text("outcome", &text, Outcome::parse))
        .transpose()
}

/// Whose sessions these are: an API key's account (Game SDK) or a signed-in user (web chat).
/// Both families share the tables; the scope keeps them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Sdk(Uuid),
    Web(Uuid),
}

/// One player of one persona in one scope: the key of their sessions (one per machine), their
/// unlocked machines and their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlayerKey<'a> {
    pub scope: Scope,
    pub persona_id: Uuid,
    /// The game's id for the player (`user_session_id` of the API).
    pub user_session_id: &'a str,
}

/// `WHERE` clause matching a [`PlayerKey`] as parameters `$1`–`$3` (bound by [`bind_player`]).
const PLAYER_MATCHES: &str = "scope = $1 AND persona_id = $2 AND user_session_id = $3";

/// Binds a [`PlayerKey`] as the first three parameters of `query`.
fn bind_player<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    player: &PlayerKey<'q>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(player.scope.as_db())
        .bind(player.persona_id.to_string())
        .bind(player.user_session_id)
}

impl Scope {
    /// The stored form, `sdk:<uuid>` or `web:<uuid>`.
    pub(crate) fn as_db(&self) -> String {
        match self {
            Scope::Sdk(id) => format!("sdk:{id}"),
            Scope::Web(id) => format!("web:{id}"),
        }
    }
}

/// Moves what the anonymous web player `from_user` did under `user_session_id` to `to_user`:
/// their sessions (except where `to_user` already has one for the same machine), unlocks and
/// memory. Returns the number of sessions moved. The caller has proved that it was
/// `from_user`; sessions of non-anonymous users are never touched.
pub(crate) async fn migrate_anonymous_progress(
    db: &Db,
    from_user: Uuid,
    to_user: Uuid,
    user_session_id: &str,
) -> Result<u64, sqlx::Error> {
    let target = Scope::Web(to_user).as_db();
    let source = Scope::Web(from_user).as_db();
    // The source scope, only while it belongs to an anonymous user other than the caller.
    const ANONYMOUS_SOURCES: &str =
        "scope = $3 AND $3 IN (SELECT 'web:' || id FROM users WHERE is_anonymous = TRUE) \
         AND scope <> $1 AND user_session_id = $2";
    let mut tx = db.begin_write().await?;
    let moved = sqlx::query(&format!(
        "UPDATE chat_sessions SET scope = $1 WHERE {ANONYMOUS_SOURCES} \
         AND NOT EXISTS (SELECT 1 FROM chat_sessions mine WHERE mine.scope = $1 \
           AND mine.persona_id = chat_sessions.persona_id \
           AND mine.machine_id = chat_sessions.machine_id \
           AND mine.user_session_id = chat_sessions.user_session_id)"
    ))
    .bind(&target)
    .bind(user_session_id)
    .bind(&source)
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "UPDATE machine_unlocks SET scope = $1 WHERE {ANONYMOUS_SOURCES} \
         AND NOT EXISTS (SELECT 1 FROM machine_unlocks mine WHERE mine.scope = $1 \
           AND mine.persona_id = machine_unlocks.persona_id \
           AND mine.machine_id = machine_unlocks.machine_id \
           AND mine.user_session_id = machine_unlocks.user_session_id)"
    ))
    .bind(&target)
    .bind(user_session_id)
    .bind(&source)
    .execute(&mut *tx.tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE player_memory SET scope = $1 WHERE {ANONYMOUS_SOURCES} \
         AND NOT EXISTS (SELECT 1 FROM player_memory mine WHERE mine.scope = $1 \
           AND mine.persona_id = player_memory.persona_id \
           AND mine.user_session_id = player_memory.user_session_id)"
    ))
    .bind(&target)
    .bind(user_session_id)
    .bind(&source)
    .execute(&mut *tx.tx)
    .await?;
    tx.commit().await?;
    Ok(moved)
}

/// A stored session.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub id: Uuid,
    pub persona_id: Uuid,
    pub machine_id: Uuid,
    pub user_session_id: String,
    pub player_name: String,
    pub player_gender: PlayerGender,
    pub current_state: String,
    pub score: i64,
    pub redirect_count: i64,
    pub outcome: Option<Outcome>,
    pub summary: Option<String>,
    pub summarized_seq: i64,
    pub started_at: String,
    pub last_message_at: Option<String>,
}

const SESSION_COLUMNS: &str = "id, persona_id, machine_id, user_session_id, player_name, \
    player_gender, current_state, score, redirect_count, outcome, summary, summarized_seq, \
    started_at, last_message_at";

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<SessionRow, sqlx::Error> {
    use sqlx::Row;
    Ok(SessionRow {
        id: super::get_uuid(row, "id")?,
        persona_id: super::get_uuid(row, "persona_id")?,
        machine_id: super::get_uuid(row, "machine_id")?,
        user_session_id: row.try_get("user_session_id")?,
        player_name: row.try_get("player_name")?,
        player_gender: get_parsed(row, "player_gender", PlayerGender::parse)?,
        current_state: row.try_get("current_state")?,
        score: row.try_get("score")?,
        redirect_count: row.try_get("redirect_count")?,
        outcome: get_outcome(row)?,
        summary: row.try_get("summary")?,
        summarized_seq: row.try_get("summarized_seq")?,
        started_at: row.try_get("started_at")?,
        last_message_at: row.try_get("last_message_at")?,
    })
}

impl SessionRow {
    /// The player this session belongs to, in `scope`.
    pub(crate) fn player(&self, scope: Scope) -> PlayerKey<'_> {
        PlayerKey {
            scope,
            persona_id: self.persona_id,
            user_session_id: &self.user_session_id,
        }
    }

    /// When the last message was stored (the greeting, at first).
    fn last_message_at(&self) -> String {
        self.last_message_at
            .clone()
            .unwrap_or_else(|| self.started_at.clone())
    }

    /// The session as `GET …/session` answers it.
    pub(crate) fn status(self) -> SessionStatus {
        SessionStatus {
            last_message_at: self.last_message_at(),
            session_id: self.id,
            persona_id: self.persona_id,
            machine_id: self.machine_id,
            current_state: self.current_state,
            score: self.score,
            outcome: self.outcome.map(|o| o.as_str().to_owned()),
            player_name: self.player_name,
            player_gender: self.player_gender.as_str().to_owned(),
            started_at: self.started_at,
        }
    }

    /// The session with `messages`, as `GET …/history` answers it.
    pub(crate) fn history(self, messages: Vec<MessageRow>) -> ChatHistory {
        let status = self.status();
        ChatHistory {
            session_id: status.session_id,
            persona_id: status.persona_id,
            messages: messages.into_iter().map(MessageRow::into_message).collect(),
            current_state: status.current_state,
            score: status.score,
            outcome: status.outcome,
            player_name: status.player_name,
            player_gender: status.player_gender,
            last_message_at: status.last_message_at,
            started_at: status.started_at,
        }
    }
}

/// The player's session on one machine.
pub(crate) async fn find(
    db: &Db,
    player: &PlayerKey<'_>,
    machine_id: Uuid,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE {PLAYER_MATCHES} AND machine_id = $4"
    );
    let row = bind_player(sqlx::query(&sql), player)
        .bind(machine_id.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// The player's most recently active session with a persona, on any machine.
pub(crate) async fn latest_for_player(
    db: &Db,
    player: &PlayerKey<'_>,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE {PLAYER_MATCHES} \
         ORDER BY last_active_at DESC, id LIMIT 1"
    );
    let row = bind_player(sqlx::query(&sql), player)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// Every session of the player with a persona: `(machine_id, outcome)`.
pub(crate) async fn player_sessions(
    db: &Db,
    player: &PlayerKey<'_>,
) -> Result<Vec<(Uuid, Option<Outcome>)>, sqlx::Error> {
    let sql = format!("SELECT machine_id, outcome FROM chat_sessions WHERE {PLAYER_MATCHES}");
    let rows = bind_player(sqlx::query(&sql), player)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| Ok((super::get_uuid(row, "machine_id")?, get_outcome(row)?)))
        .collect()
}

/// Machines the player unlocked with this persona.
pub(crate) async fn unlocked_machines(
    db: &Db,
    player: &PlayerKey<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let sql = format!("SELECT machine_id FROM machine_unlocks WHERE {PLAYER_MATCHES}");
    let rows = bind_player(sqlx::query(&sql), player)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| super::get_uuid(row, "machine_id"))
        .collect()
}

/// A stored message.
#[derive(Debug, Clone)]
pub(crate) struct MessageRow {
    pub id: Uuid,
    pub seq: i64,
    pub role: MessageRole,
    pub content: String,
    pub state_key_at_time: Option<String>,
    pub score_at_time: Option<i64>,
    pub decision: Option<String>,
    pub follow_up_triggered: bool,
    /// The evaluator's reason (player messages of turns played since it was recorded).
    pub evaluator_reason: Option<String>,
    pub created_at: String,
}

impl MessageRow {
    /// The message as the chat history shows it to players (no evaluator reason).
    pub(crate) fn into_message(self) -> Message {
        Message {
            id: self.id,
            role: self.role.as_str().to_owned(),
            content: self.content,
            state_key_at_time: self.state_key_at_time,
            score_at_time: self.score_at_time,
            decision: self.decision,
            follow_up_triggered: self.follow_up_triggered,
            created_at: self.created_at,
        }
    }
}

/// A session's messages with `seq > after_seq`, oldest first; at most `limit` of the newest.
pub(crate) async fn messages(
    db: &Db,
    session_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    messages_between(db, session_id, after_seq, i64::MAX, limit, Keep::Newest).await
}

/// Which end of a range [`messages_between`] keeps when it holds more than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    Oldest,
    Newest,
}

/// The messages with `after_seq < seq < before_seq`, at most `limit` of them (the oldest or
/// the newest of the range), oldest first.
pub(crate) async fn messages_between(
    db: &Db,
    session_id: Uuid,
    after_seq: i64,
    before_seq: i64,
    limit: i64,
    keep: Keep,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    use sqlx::Row;
    let order = match keep {
        Keep::Oldest => "ASC",
        Keep::Newest => "DESC",
    };
    let rows = sqlx::query(&format!(
        "SELECT id, seq, role, content, state_key_at_time, score_at_time, decision, \
         CASE WHEN follow_up_triggered THEN 1 ELSE 0 END AS follow_up_triggered, \
         evaluator_reason, created_at \
         FROM chat_messages \
         WHERE session_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq {order} LIMIT $4"
    ))
    .bind(session_id.to_string())
    .bind(after_seq)
    .bind(before_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = rows
        .iter()
        .map(|row| {
            Ok(MessageRow {
                id: super::get_uuid(row, "id")?,
                seq: row.try_get("seq")?,
                role: get_parsed(row, "role", MessageRole::parse)?,
                content: row.try_get("content")?,
                state_key_at_time: row.try_get("state_key_at_time")?,
                score_at_time: row.try_get("score_at_time")?,
                decision: row.try_get("decision")?,
                follow_up_triggered: super::get_bool(row, "follow_up_triggered")?,
                evaluator_reason: row.try_get("evaluator_reason")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if keep == Keep::Newest {
        out.reverse();
    }
    Ok(out)
}

/// A session's summary and the last message it covers (`None` when the session is gone).
pub(crate) async fn summary_state(
    db: &Db,
    session_id: Uuid,
) -> Result<Option<(Option<String>, i64)>, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query("SELECT summary, summarized_seq FROM chat_sessions WHERE id = $1")
        .bind(session_id.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| Ok((row.try_get("summary")?, row.try_get("summarized_seq")?)))
        .transpose()
}

/// The `seq` of message `message_id` in `session_id`, if it is one of its messages.
pub(crate) async fn message_seq(
    db: &Db,
    session_id: Uuid,
    message_id: Uuid,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT seq FROM chat_messages WHERE id = $1 AND session_id = $2")
        .bind(message_id.to_string())
        .bind(session_id.to_string())
        .fetch_optional(db.pool())
        .await
}

/// A message to store.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub role: MessageRole,
    pub content: String,
    pub state_key_at_time: Option<String>,
    pub score_at_time: Option<i64>,
    pub decision: Option<String>,
    pub follow_up_triggered: bool,
    /// The evaluator's reason for the decision (player messages only).
    pub evaluator_reason: Option<String>,
}

async fn insert_message(
    conn: &mut sqlx::AnyConnection,
    session_id: Uuid,
    seq: Seq,
    message: &NewMessage,
    at: &str,
) -> Result<(), sqlx::Error> {
    // The next number is computed by the INSERT itself: no separate round trip for it.
    let seq_sql = match seq {
        Seq::At(_) => "$3",
        Seq::Next => "(SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_messages WHERE session_id = $3)",
    };
    let sql = format!(
        "INSERT INTO chat_messages (id, session_id, seq, role, content, state_key_at_time, \
         score_at_time, decision, follow_up_triggered, evaluator_reason, created_at) \
         VALUES ($1, $2, {seq_sql}, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let insert = sqlx::query(&sql)
        .bind(Uuid::new_v4().to_string())
        .bind(session_id.to_string());
    let insert = match seq {
        Seq::At(n) => insert.bind(n),
        Seq::Next => insert.bind(session_id.to_string()),
    };
    insert
        .bind(message.role.as_str())
        .bind(&message.content)
        .bind(message.state_key_at_time.as_deref())
        .bind(message.score_at_time)
        .bind(message.decision.as_deref())
        .bind(message.follow_up_triggered)
        .bind(message.evaluator_reason.as_deref())
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a new message goes in its session.
#[derive(Debug, Clone, Copy)]
enum Seq {
    /// At this number.
    At(i64),
    /// After the session's last message (inside the writing transaction, so exact).
    Next,
}

/// Why a session could not be (re)started or reset.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionWriteError {
    /// A turn is running on it.
    #[error("session busy")]
    Busy,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A session to start.
pub(crate) struct NewSession<'a> {
    pub player: PlayerKey<'a>,
    pub machine_id: Uuid,
    pub player_name: &'a str,
    pub player_gender: PlayerGender,
    pub initial_state: &'a str,
}

/// Starts a session with its greeting — or starts an existing one over (same id, old messages
/// gone, summary cleared).
pub(crate) async fn start(
    db: &Db,
    new: NewSession<'_>,
    greeting: NewMessage,
) -> Result<SessionRow, SessionWriteError> {
    let now = super::now();
    let mut tx = db.begin_write().await?;
    let sql = format!(
        "SELECT id, turn_token, turn_expires_at FROM chat_sessions \
         WHERE {PLAYER_MATCHES} AND machine_id = $4"
    );
    let existing = bind_player(sqlx::query(&sql), &new.player)
        .bind(new.machine_id.to_string())
        .fetch_optional(&mut *tx.tx)
        .await?;
    let existing = existing
        .as_ref()
        .map(<(String, Option<String>, Option<String>)>::from_row)
        .transpose()?;
    let id = match existing {
        Some((_, Some(_), Some(expires))) if expires > now => return Err(SessionWriteError::Busy),
        Some((id, _, _)) => {
            sqlx::query("DELETE FROM chat_messages WHERE session_id = $1")
                .bind(&id)
                .execute(&mut *tx.tx)
                .await?;
            sqlx::query(
                "UPDATE chat_sessions SET player_name = $1, player_gender = $2, \
                 current_state = $3, score = 0, redirect_count = 0, outcome = NULL, \
                 summary = NULL, summarized_seq = 0, turn_token = NULL, turn_expires_at = NULL, \
                 started_at = $4, last_message_at = $4, last_active_at = $4 WHERE id = $5",
            )
            .bind(new.player_name)
            .bind(new.player_gender.as_str())
            .bind(new.initial_state)
            .bind(&now)
            .bind(&id)
            .execute(&mut *tx.tx)
            .await?;
            id
        }
        None => {
            let id = Uuid::new_v4().to_string();
            let insert = sqlx::query(
                "INSERT INTO chat_sessions (scope, persona_id, user_session_id, id, machine_id, \
                 player_name, player_gender, current_state, started_at, last_message_at, \
                 last_active_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)",
            );
            bind_player(insert, &new.player)
                .bind(&id)
                .bind(new.machine_id.to_string())
                .bind(new.player_name)
                .bind(new.player_gender.as_str())
                .bind(new.initial_state)
                .bind(&now)
                .execute(&mut *tx.tx)
                .await?;
            id
        }
    };
    let uuid: Uuid = id.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    insert_message(&mut tx.tx, uuid, Seq::At(1), &greeting, &now).await?;
    tx.commit().await?;
    Ok(SessionRow {
        id: uuid,
        persona_id: new.player.persona_id,
        machine_id: new.machine_id,
        user_session_id: new.player.user_session_id.to_string(),
        player_name: new.player_name.to_string(),
        player_gender: new.player_gender,
        current_state: new.initial_state.to_string(),
        score: 0,
        redirect_count: 0,
        outcome: None,
        summary: None,
        summarized_seq: 0,
        started_at: now.clone(),
        last_message_at: Some(now),
    })
}

/// Claims a session for one turn. False when another turn holds it (and its claim has not
/// lapsed: a claim left by a crashed process expires at `expires_at`).
pub(crate) async fn claim_turn(
    db: &Db,
    session_id: Uuid,
    token: &str,
    expires_at: &str,
) -> Result<bool, sqlx::Error> {
    let now = super::now();
    let done = sqlx::query(
        "UPDATE chat_sessions SET turn_token = $1, turn_expires_at = $2 \
         WHERE id = $3 AND (turn_token IS NULL OR turn_expires_at < $4)",
    )
    .bind(token)
    .bind(expires_at)
    .bind(session_id.to_string())
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up a claim without changing the session (the turn failed or was cancelled).
/// Extends a claim this turn still holds to `expires_at`; false when it no longer holds it.
pub(crate) async fn renew_turn(
    db: &Db,
    session_id: Uuid,
    token: &str,
    expires_at: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE chat_sessions SET turn_expires_at = $1 WHERE id = $2 AND turn_token = $3",
    )
    .bind(expires_at)
    .bind(session_id.to_string())
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn release_turn(
    db: &Db,
    session_id: Uuid,
    token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE chat_sessions SET turn_token = NULL, turn_expires_at = NULL \
         WHERE id = $1 AND turn_token = $2",
    )
    .bind(session_id.to_string())
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Everything one turn writes, applied atomically.
pub(crate) struct TurnCommit<'a> {
    pub scope: Scope,
    pub session: &'a SessionRow,
    pub token: &'a str,
    pub player_message: NewMessage,
    pub reply: NewMessage,
    pub current_state: &'a str,
    pub score: i64,
    pub redirect_count: i64,
    pub outcome: Option<Outcome>,
    pub unlocked: &'a [Uuid],
    /// New per-player memory `(variables JSON, memories JSON)`, when the session ended.
    pub memory: Option<(String, String)>,
}

/// Writes a turn in one transaction, releasing the claim. False (and nothing written) when
/// the claim was lost, e.g. the session was started over meanwhile.
pub(crate) async fn commit_turn(db: &Db, turn: TurnCommit<'_>) -> Result<bool, sqlx::Error> {
    let now = super::now();
    let session_id = turn.session.id.to_string();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE chat_sessions SET current_state = $1, score = $2, redirect_count = $3, \
         outcome = $4, last_message_at = $5, last_active_at = $5, turn_token = NULL, \
         turn_expires_at = NULL WHERE id = $6 AND turn_token = $7",
    )
    .bind(turn.current_state)
    .bind(turn.score)
    .bind(turn.redirect_count)
    .bind(turn.outcome.map(Outcome::as_str))
    .bind(&now)
    .bind(&session_id)
    .bind(turn.token)
    .execute(&mut *tx.tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    let id = turn.session.id;
    insert_message(&mut tx.tx, id, Seq::Next, &turn.player_message, &now).await?;
    insert_message(&mut tx.tx, id, Seq::Next, &turn.reply, &now).await?;
    let player = turn.session.player(turn.scope);
    for machine_id in turn.unlocked {
        let insert = sqlx::query(
            "INSERT INTO machine_unlocks (scope, persona_id, user_session_id, machine_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        );
        bind_player(insert, &player)
            .bind(machine_id.to_string())
            .bind(&now)
            .execute(&mut *tx.tx)
            .await?;
    }
    if let Some((variables, memories)) = &turn.memory {
        let upsert = sqlx::query(
            "INSERT INTO player_memory (scope, persona_id, user_session_id, variables, memories, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (scope, persona_id, user_session_id) DO UPDATE SET \
             variables = excluded.variables, memories = excluded.memories, updated_at = excluded.updated_at",
        );
        bind_player(upsert, &player)
            .bind(variables)
            .bind(memories)
            .bind(&now)
            .execute(&mut *tx.tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The player's memory with a persona: `(variables JSON, memories JSON)`.
pub(crate) async fn memory(
    db: &Db,
    player: &PlayerKey<'_>,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let sql = format!("SELECT variables, memories FROM player_memory WHERE {PLAYER_MATCHES}");
    let row = bind_player(sqlx::query(&sql), player)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(<(String, String)>::from_row).transpose()
}

/// Starts a session over at `initial_state` with no messages (`reset`). Same id.
pub(crate) async fn reset(
    db: &Db,
    session_id: Uuid,
    initial_state: &str,
) -> Result<(), SessionWriteError> {
    let now = super::now();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE chat_sessions SET current_state = $1, score = 0, redirect_count = 0, \
         outcome = NULL, summary = NULL, summarized_seq = 0, last_message_at = $2, \
         last_active_at = $2 WHERE id = $3 AND (turn_token IS NULL OR turn_expires_at < $2)",
    )
    .bind(initial_state)
    .bind(&now)
    .bind(session_id.to_string())
    .execute(&mut *tx.tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(SessionWriteError::Busy);
    }
    sqlx::query("DELETE FROM chat_messages WHERE session_id = $1")
        .bind(session_id.to_string())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Folds messages up to `upto_seq` into the summary, unless another summary got there first.
pub(crate) async fn save_summary(
    db: &Db,
    session_id: Uuid,
    summary: &str,
    from_seq: i64,
    upto_seq: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE chat_sessions SET summary = $1, summarized_seq = $2 \
         WHERE id = $3 AND summarized_seq = $4",
    )
    .bind(summary)
    .bind(upto_seq)
    .bind(session_id.to_string())
    .bind(from_seq)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a session whose state no longer exists in its machine (the creator replaced the
/// persona): it keeps its history and is marked finished without unlocking anything.
pub(crate) async fn end_stale(
    db: &Db,
    session_id: Uuid,
    outcome: Outcome,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chat_sessions SET outcome = $1 WHERE id = $2 AND outcome IS NULL")
        .bind(outcome.as_str())
        .bind(session_id.to_string())
        .execute(db.pool())
        .await?;
    Ok(())
}

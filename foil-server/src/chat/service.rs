//! The chat operations (api.md §4), shared by the Game SDK and web-chat route families: the
//! routes decide who the caller is and frame the results (JSON, SSE); nothing here knows HTTP.

use std::sync::Arc;
use std::time::Duration;

use foil_engine::{available_machines, is_linked, primary_machine, ReplyContext, SessionState};
use foil_types::wire::{
    ChatHistory, ChatResponse, InitSessionRequest, MachineInfo, PlayerGender, ResetResult,
    SendMessageRequest, SessionInit, SessionStatus, StreamMetadata, ValidateLlmKeyRequest,
    ValidateLlmKeyResult,
};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::llm::{LlmHeaders, LlmSelection};
use super::steps;
use super::turn::{self, PlayerMemory};
use crate::context::ApiContext;
use crate::db::personas::StoredPersona;
use crate::db::sessions::{
    self, MessageRole, NewMessage, NewSession, PlayerKey, Scope, SessionRow, SessionWriteError,
};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{parse_uuid, require_text};
use crate::usage::Attribution;

/// Who is chatting, and therefore which personas they reach and whose sessions they see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller {
    /// An API key (`key`) of this account: the account's published personas.
    Sdk { account: Uuid, key: Uuid },
    /// A signed-in user: published public personas, and their own.
    Web { user: Uuid },
}

impl Caller {
    /// Whom this caller's LLM calls for `persona` are recorded for.
    pub(crate) fn attribution(self, persona: Uuid) -> Attribution {
        let (account, api_key) = match self {
            Caller::Sdk { account, key } => (account, Some(key)),
            Caller::Web { user } => (user, None),
        };
        Attribution {
            account,
            api_key,
            persona: Some(persona),
        }
    }

    pub(crate) fn scope(self) -> Scope {
        match self {
            Caller::Sdk { account, .. } => Scope::Sdk(account),
            Caller::Web { user } => Scope::Web(user),
        }
    }

    /// The player `user_session_id` of `persona`, in this caller's scope.
    pub(crate) fn player(self, persona_id: Uuid, user_session_id: &str) -> PlayerKey<'_> {
        PlayerKey {
            scope: self.scope(),
            persona_id,
            user_session_id,
        }
    }
}

const MAX_USER_SESSION_ID_CHARS: usize = 128;
const MAX_PLAYER_NAME_CHARS: usize = 64;

/// Loads a persona the caller may chat with.
pub(crate) async fn load_persona(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
) -> Result<Arc<StoredPersona>, ApiError> {
    let persona = ctx
        .personas
        .get(&ctx.db, persona_id)
        .await?
        .ok_or_else(|| ApiError::not_found(ErrorCode::PersonaNotFound, "Persona not found"))?;
    let allowed = match caller {
        Caller::Sdk { account, .. } => persona.owner_id == account && persona.is_published,
        Caller::Web { user } => {
            persona.owner_id == user || (persona.is_published && persona.is_public)
        }
    };
    if !allowed {
        return Err(match caller {
            Caller::Sdk { .. } => ApiError::forbidden(
                ErrorCode::PersonaAccessDenied,
                "API key does not have access",
            ),
            Caller::Web { .. } => ApiError::forbidden(
                ErrorCode::Forbidden,
                "You do not have access to this persona",
            ),
        });
    }
    Ok(persona)
}

/// `?user_session_id=` (and `machine_id`, optional).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionQuery {
    /// The player's id in your game (≤ 128 characters).
    pub user_session_id: Option<String>,
    /// The machine; default: the player's most recently active session.
    pub machine_id: Option<String>,
}

/// `?user_session_id=` (and `machine_id`), with optional paging of the messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// The player's id in your game (≤ 128 characters).
    pub user_session_id: Option<String>,
    /// The machine; default: the player's most recently active session.
    pub machine_id: Option<String>,
    /// At most this many messages, the newest (1 to `max_history_messages`; default and cap:
    /// `max_history_messages`, 1000 unless the operator changed it).
    pub limit: Option<i64>,
    /// Only messages older than this message id (pass the oldest id of the previous page).
    pub before: Option<String>,
}

/// `?machine_id=` (optional).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MachineQuery {
    /// The machine; default: the persona's primary machine (init) or the player's most
    /// recently active session (message).
    pub machine_id: Option<String>,
}

fn machine_param(raw: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|raw| parse_uuid("machine_id", raw))
        .transpose()
}

fn user_session_id(raw: Option<&str>) -> Result<&str, ApiError> {
    let id = raw.unwrap_or("");
    check_user_session_id(id)?;
    Ok(id)
}

/// A player's `user_session_id`: present, at most 128 characters.
pub(crate) fn check_user_session_id(id: &str) -> Result<(), ApiError> {
    require_text("user_session_id", id, MAX_USER_SESSION_ID_CHARS)
}

fn no_session() -> ApiError {
    ApiError::not_found(ErrorCode::SessionNotFound, "No active session found")
}

/// The player's session on `machine_id`, or their most recently active one.
async fn find_session(
    ctx: &ApiContext,
    caller: Caller,
    persona: &StoredPersona,
    machine_id: Option<Uuid>,
    user_session_id: &str,
) -> Result<SessionRow, ApiError> {
    let player = caller.player(persona.id, user_session_id);
    let found = match machine_id {
        Some(machine_id) => {
            if persona.machine_key(machine_id).is_none() {
                return Err(ApiError::not_found(
                    ErrorCode::MachineNotFound,
                    "Machine not found",
                ));
            }
            sessions::find(&ctx.db, &player, machine_id).await?
        }
        None => sessions::latest_for_player(&ctx.db, &player).await?,
    };
    found.ok_or_else(no_session)
}

/// Keys of the machines this player unlocked.
async fn unlocked_keys(
    ctx: &ApiContext,
    player: &PlayerKey<'_>,
    persona: &StoredPersona,
) -> Result<Vec<String>, ApiError> {
    let ids = sessions::unlocked_machines(&ctx.db, player).await?;
    Ok(ids
        .into_iter()
        .filter_map(|id| persona.machine_key(id).map(str::to_string))
        .collect())
}

/// The machines the player can play now.
pub(crate) async fn machines(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: SessionQuery,
) -> Result<Vec<MachineInfo>, ApiError> {
    let usid = user_session_id(query.user_session_id.as_deref())?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let player = caller.player(persona.id, usid);
    let unlocked = unlocked_keys(ctx, &player, &persona).await?;
    let played = sessions::player_sessions(&ctx.db, &player).await?;
    Ok(available_machines(&persona.document, &unlocked)
        .into_iter()
        .filter_map(|m| {
            let id = persona.machine_id(&m.machine_key)?;
            let session = played.iter().find(|(mid, _)| *mid == id);
            Some(MachineInfo {
                machine_id: id,
                machine_key: m.machine_key.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                has_session: session.is_some(),
                session_outcome: session
                    .and_then(|(_, outcome)| outcome.map(|o| o.as_str().to_owned())),
                is_linked: is_linked(&persona.document, &m.machine_key),
            })
        })
        .collect())
}

/// Starts (or starts over) a session and returns the NPC's greeting.
pub(crate) async fn init_session(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: MachineQuery,
    headers: &LlmHeaders,
    body: InitSessionRequest,
) -> Result<SessionInit, ApiError> {
    let usid = user_session_id(Some(&body.user_session_id))?;
    require_text("player_name", &body.player_name, MAX_PLAYER_NAME_CHARS)?;
    // The name goes into prompts: no line breaks or control characters to forge structure.
    if body.player_name.trim().chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidPlayerName,
            "`player_name` must not contain line breaks or control characters",
        ));
    }
    let gender = PlayerGender::parse(body.player_gender.trim()).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidPlayerGender,
            "`player_gender` must be one of: female, male, non-binary",
        )
    })?;
    let machine_id = machine_param(query.machine_id.as_deref())?;
    let selection = selection(ctx, caller, persona_id, headers).await?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let player = caller.player(persona.id, usid);
    let machine = match machine_id {
        Some(id) => {
            let key = persona.machine_key(id).ok_or_else(|| {
                ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found")
            })?;
            let unlocked = unlocked_keys(ctx, &player, &persona).await?;
            available_machines(&persona.document, &unlocked)
                .into_iter()
                .find(|m| m.machine_key == key)
                .ok_or_else(|| {
                    ApiError::forbidden(
                        ErrorCode::MachineLocked,
                        "This machine is not unlocked for this player yet",
                    )
                })?
        }
        None => primary_machine(&persona.document)
            .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))?,
    };
    let machine_id = persona
        .machine_id(&machine.machine_key)
        .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))?;
    let initial = SessionState::initial(machine).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("validated machine has no initial state"))
    })?;
    let state = machine.state(&initial.current_state).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("the initial state is not in its machine"))
    })?;
    let player_name = body.player_name.trim();
    let memory = PlayerMemory::load(ctx, &player).await?;
    let vars = memory.template_vars(&persona, player_name, gender);
    let greeting = steps::reply(
        &ctx.llm,
        &selection.response,
        &ctx.llm_limits(),
        &ReplyContext {
            persona: &persona.document.persona,
            machine,
            state,
            vars: &vars,
            happened: None,
            memories: &memory.memories,
            summary: None,
            recent: &[],
            player_message: None,
        },
    )
    .await?;
    let session = sessions::start(
        &ctx.db,
        NewSession {
            player,
            machine_id,
            player_name,
            player_gender: gender,
            initial_state: &initial.current_state,
        },
        NewMessage {
            role: MessageRole::Assistant,
            content: greeting.clone(),
            state_key_at_time: Some(initial.current_state.clone()),
            score_at_time: Some(0),
            decision: None,
            follow_up_triggered: false,
            evaluator_reason: None,
        },
    )
    .await
    .map_err(|e| match e {
        SessionWriteError::Busy => turn::busy(),
        SessionWriteError::Db(e) => e.into(),
    })?;
    Ok(SessionInit {
        session_id: session.id,
        user_session_id: usid.to_string(),
        persona_name: persona.name.clone(),
        persona_description: persona.description.clone(),
        player_name: player_name.to_string(),
        player_gender: gender.as_str().to_string(),
        message: greeting,
        machine_id,
    })
}

/// The request's models and keys, recorded for the caller; refused when the caller's daily
/// budget is used up.
async fn selection(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    headers: &LlmHeaders,
) -> Result<LlmSelection, ApiError> {
    let meter = ctx.meter(caller.attribution(persona_id));
    meter.check_budget(&ctx.config).await?;
    Ok(ctx.llm_selection(headers, None)?.metered(meter))
}

/// Checks a message and prepares its turn (evaluated and applied, nothing written yet).
async fn prepare_message(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: MachineQuery,
    headers: &LlmHeaders,
    body: SendMessageRequest,
) -> Result<turn::PreparedTurn, ApiError> {
    let usid = user_session_id(Some(&body.user_session_id))?;
    require_text("message", &body.message, ctx.config.max_message_chars)?;
    let machine_id = machine_param(query.machine_id.as_deref())?;
    let selection = selection(ctx, caller, persona_id, headers).await?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let session = find_session(ctx, caller, &persona, machine_id, usid).await?;
    turn::prepare(
        ctx,
        caller.scope(),
        persona,
        session,
        body.message.trim().to_string(),
        selection,
    )
    .await
}

/// One turn, answered whole.
pub(crate) async fn send_message(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: MachineQuery,
    headers: &LlmHeaders,
    body: SendMessageRequest,
) -> Result<ChatResponse, ApiError> {
    let mut prepared = prepare_message(ctx, caller, persona_id, query, headers, body).await?;
    let reply_ctx = prepared.reply_context();
    let limits = ctx.llm_limits();
    let (reply, extracted) = tokio::join!(
        steps::reply(&ctx.llm, &prepared.selection.response, &limits, &reply_ctx),
        prepared.extract_variables()
    );
    let reply = prepared.abandon_on_err(reply).await?;
    prepared.commit(reply, extracted).await
}

/// What a streamed turn tells its client, in order: the metadata, the reply's text deltas,
/// then `Done` with the committed turn or `Error` (api.md §5). The routes frame these as SSE.
#[derive(Debug)]
pub(crate) enum TurnEvent {
    /// The turn's state, score and outcome, before the reply's text. (The large variants are
    /// boxed: every open stream's channel holds a block of 32 events.)
    Metadata(Box<StreamMetadata>),
    /// The next piece of the reply.
    TextDelta(String),
    /// The turn, committed: the same body as the non-streamed reply.
    Done(Box<ChatResponse>),
    /// The turn failed after the stream began; nothing was stored.
    Error(String),
}

/// The events of one streamed turn; ends after `Done` or `Error` (or when the turn gives up
/// on a client that stopped reading).
pub(crate) struct TurnEvents(tokio::sync::mpsc::Receiver<TurnEvent>);

impl futures_util::Stream for TurnEvents {
    type Item = TurnEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<TurnEvent>> {
        self.0.poll_recv(cx)
    }
}

/// One turn, streamed (api.md §5). Everything up to and including opening the provider's
/// stream happens before the events start, so those failures are ordinary HTTP errors. The
/// turn runs in its own task feeding the events; when the client goes away (the events are
/// dropped) the task drops the provider stream (cancelling the request upstream) and releases
/// the session without writing anything.
pub(crate) async fn send_message_stream(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: MachineQuery,
    headers: &LlmHeaders,
    body: SendMessageRequest,
) -> Result<TurnEvents, ApiError> {
    let (account, key) = match caller {
        Caller::Sdk { account, key } => (account, Some(key)),
        Caller::Web { user } => (user, None),
    };
    let slot = ctx.streams.open(
        account,
        key,
        ctx.config.max_streams_per_key,
        ctx.config.max_streams_per_account,
    )?;
    let mut prepared = prepare_message(ctx, caller, persona_id, query, headers, body).await?;
    let opened = steps::reply_stream(
        &ctx.llm,
        &prepared.selection.response,
        &ctx.llm_limits(),
        &prepared.reply_context(),
    )
    .await;
    let mut deltas = prepared.abandon_on_err(opened).await?;
    prepared.release_prompt();
    let (tx, rx) = tokio::sync::mpsc::channel::<TurnEvent>(32);
    let reader = Reader {
        tx,
        deadline: Duration::from_secs(ctx.config.stream_send_timeout_secs.max(1)),
    };
    tokio::spawn(async move {
        let _slot = slot;
        let tx = &reader;
        let streamed = stream_reply(&prepared, &mut deltas, tx).await;
        let (text, extracted) = match streamed {
            Ok(done) => done,
            Err(end) => {
                // Free the session before the player hears of the failure (so a resend is
                // never busy) and before the provider stream is dropped (cancelling it).
                prepared.abandon().await;
                drop(deltas);
                if let StreamEnd::Failed(message) = end {
                    let _ = tx.send(TurnEvent::Error(message)).await;
                }
                return;
            }
        };
        drop(deltas);
        match prepared.commit(text, extracted).await {
            Ok(done) => {
                let _ = tx.send(TurnEvent::Done(Box::new(done))).await;
            }
            Err(e) => {
                let message = match &e {
                    ApiError::Internal(_) | ApiError::Unavailable => {
                        tracing::error!(error = %e, "stream turn could not be stored");
                        "The reply could not be stored; please resend".to_string()
                    }
                    other => other.to_string(),
                };
                let _ = tx.send(TurnEvent::Error(message)).await;
            }
        }
    });
    Ok(TurnEvents(rx))
}

/// Why a streamed turn stopped before its commit.
enum StreamEnd {
    /// The client went away; nobody is left to tell.
    ClientLeft,
    /// The provider's stream failed; the client gets this `error` event.
    Failed(String),
}

/// Sends the metadata and forwards the provider's deltas, extracting output variables
/// meanwhile; returns the whole reply and the variables.
async fn stream_reply(
    prepared: &turn::PreparedTurn,
    deltas: &mut futures_util::stream::BoxStream<'static, Result<String, foil_llm::LlmError>>,
    tx: &Reader,
) -> Result<(String, std::collections::BTreeMap<String, String>), StreamEnd> {
    let metadata = prepared.response(String::new()).metadata();
    if tx
        .send(TurnEvent::Metadata(Box::new(metadata)))
        .await
        .is_err()
    {
        return Err(StreamEnd::ClientLeft);
    }
    let mut extraction = std::pin::pin!(prepared.extract_variables());
    let mut extracted = None;
    let mut text = String::new();
    loop {
        tokio::select! {
            _ = tx.closed() => {
                tracing::info!("client left mid-stream; turn rolled back");
                return Err(StreamEnd::ClientLeft);
            }
            values = &mut extraction, if extracted.is_none() => extracted = Some(values),
            piece = deltas.next() => match piece {
                Some(Ok(piece)) => {
                    if piece.is_empty() {
                        continue;
                    }
                    text.push_str(&piece);
                    if tx.send(TurnEvent::TextDelta(piece)).await.is_err() {
                        return Err(StreamEnd::ClientLeft);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "reply stream failed; turn rolled back");
                    return Err(StreamEnd::Failed(e.to_string()));
                }
                None => break,
            },
        }
    }
    let extracted = match extracted {
        Some(values) => values,
        None => extraction.await,
    };
    Ok((text, extracted))
}

/// The client's end of a streamed turn: an event that cannot be handed over within
/// `deadline` (the client stopped reading, the buffers are full) counts as the client gone,
/// so a reader that stalls cannot hold the provider stream and the session for ever.
struct Reader {
    tx: tokio::sync::mpsc::Sender<TurnEvent>,
    deadline: Duration,
}

impl Reader {
    /// `Err(())` when the client left or stopped reading.
    async fn send(&self, event: TurnEvent) -> Result<(), ()> {
        match tokio::time::timeout(self.deadline, self.tx.send(event)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(()),
            Err(_) => {
                tracing::info!("client stopped reading its stream; dropping it");
                Err(())
            }
        }
    }

    async fn closed(&self) {
        self.tx.closed().await
    }
}

/// The session's current status.
pub(crate) async fn session_status(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: SessionQuery,
) -> Result<SessionStatus, ApiError> {
    let usid = user_session_id(query.user_session_id.as_deref())?;
    let machine_id = machine_param(query.machine_id.as_deref())?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let session = find_session(ctx, caller, &persona, machine_id, usid).await?;
    Ok(session.status())
}

/// The session with its messages, the greeting first.
pub(crate) async fn history(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: HistoryQuery,
) -> Result<ChatHistory, ApiError> {
    let usid = user_session_id(query.user_session_id.as_deref())?;
    let machine_id = machine_param(query.machine_id.as_deref())?;
    let max = ctx.config.max_history_messages.max(1);
    let limit = match query.limit {
        None => max,
        Some(n) if (1..=max).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("`limit` must be between 1 and {max}"),
            ))
        }
    };
    let before = query
        .before
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .map(|raw| parse_uuid("before", raw))
        .transpose()?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let s = find_session(ctx, caller, &persona, machine_id, usid).await?;
    let before_seq = match before {
        None => i64::MAX,
        Some(id) => sessions::message_seq(&ctx.db, s.id, id)
            .await?
            .ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidQuery,
                    "`before` is not a message of this session",
                )
            })?,
    };
    let rows =
        sessions::messages_between(&ctx.db, s.id, 0, before_seq, limit, sessions::Keep::Newest)
            .await?;
    Ok(s.history(rows))
}

/// Starts the session over in its initial state with an empty history (same session id).
pub(crate) async fn reset(
    ctx: &ApiContext,
    caller: Caller,
    persona_id: Uuid,
    query: SessionQuery,
) -> Result<ResetResult, ApiError> {
    let usid = user_session_id(query.user_session_id.as_deref())?;
    let machine_id = machine_param(query.machine_id.as_deref())?;
    let persona = load_persona(ctx, caller, persona_id).await?;
    let s = find_session(ctx, caller, &persona, machine_id, usid).await?;
    let key = persona
        .machine_key(s.machine_id)
        .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))?;
    let initial = persona
        .document
        .machine(key)
        .and_then(SessionState::initial)
        .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))?;
    sessions::reset(&ctx.db, s.id, &initial.current_state)
        .await
        .map_err(|e| match e {
            SessionWriteError::Busy => turn::busy(),
            SessionWriteError::Db(e) => e.into(),
        })?;
    Ok(ResetResult {
        session_id: s.id,
        message: "Conversation reset successfully".into(),
    })
}

/// The model `validate-llm-key` reports when the request names none.
const OFFLINE_MODEL: &str = "offline";

/// Checks an LLM key with the cheapest real call the provider offers. Never an error status
/// for a bad key or model: the answer says what is wrong.
pub(crate) async fn validate_llm_key(
    ctx: &ApiContext,
    headers: &LlmHeaders,
    body: ValidateLlmKeyRequest,
) -> ValidateLlmKeyResult {
    let model_override = body
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let (model, result) = match LlmSelection::validation_target(headers, model_override) {
        Err(e) => (model_override.unwrap_or(OFFLINE_MODEL).to_string(), Err(e)),
        Ok(None) => (OFFLINE_MODEL.to_string(), Ok(())),
        Ok(Some((model, key))) => {
            let result = async {
                let route = ctx.providers.resolve(&model)?;
                if route.is_offline() {
                    return Ok(());
                }
                route.key(key.as_ref())?;
                ctx.llm
                    .validate_key(&route, key.as_ref(), ctx.llm_timeout())
                    .await
            }
            .await
            .map_err(ApiError::from);
            (model, result)
        }
    };
    ValidateLlmKeyResult {
        valid: result.is_ok(),
        model,
        error: result.err().map(|e| match e {
            ApiError::RateLimited(_) => "The LLM provider rate-limited the request".to_string(),
            other => other.to_string(),
        }),
    }
}

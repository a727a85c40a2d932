//! Identity routes (api.md §2.1): self-hosted sign-up and login, `me`, and moving an anonymous
//! player's web-chat progress to their new account.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::AuthUser;
use crate::auth::password;
use crate::context::ApiContext;
use crate::db::{self, users::User};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{require_text, ApiJson};
use crate::rate_limit::Category;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The caller's account.
#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub(crate) struct UserInfo {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

impl From<User> for UserInfo {
    fn from(u: User) -> Self {
        UserInfo {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
        }
    }
}

/// A token for a self-hosted account.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub user: UserInfo,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrateProgressRequest {
    /// The `user_session_id` the anonymous player used.
    pub old_session_id: String,
    /// The anonymous player's own access token (Supabase anonymous sign-in): the proof that the
    /// caller played those sessions. Without it nothing is moved.
    #[serde(default)]
    pub anonymous_token: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct MigrateProgressResponse {
    pub migrated_sessions: u64,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_DISPLAY_NAME_CHARS: usize = 100;

fn check_email(email: &str) -> ApiResult<String> {
    require_text("email", email, MAX_EMAIL_CHARS)?;
    let email = db::users::normalize_email(email);
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidEmail,
            "`email` is not a valid email address",
        ));
    }
    Ok(email)
}

fn self_signup_enabled(ctx: &ApiContext) -> ApiResult<()> {
    if ctx.config.self_signup_enabled() {
        Ok(())
    } else {
        Err(ApiError::not_found(
            ErrorCode::SelfSignupDisabled,
            "Self-hosted sign-up is disabled on this server",
        ))
    }
}

fn token_for(ctx: &ApiContext, user: User) -> ApiResult<TokenResponse> {
    let email = user.email.clone().unwrap_or_default();
    let issued = ctx
        .jwt
        .issue(user.id, &email, user.display_name.as_deref())
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "bearer".into(),
        expires_in: issued.expires_in,
        user: user.into(),
    })
}

/// Argon2 is deliberately slow: it runs in the bounded password work pool (503 when full).
async fn blocking<T: Send + 'static>(
    ctx: &ApiContext,
    f: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    Ok(ctx.password_work.run(f).await?)
}

/// Sign-up and login are limited per IP (by their router) and here per email address, so one
/// account cannot be brute-forced from many addresses.
async fn limit_per_email(ctx: &ApiContext, email: &str) -> ApiResult<()> {
    ctx.limiter
        .check(Category::Login, &format!("email:{email}"))
        .await?;
    Ok(())
}

/// Creates a self-hosted account and signs it in.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = foil_types::wire::ErrorBody),
        (status = 409, description = "email already registered", body = foil_types::wire::ErrorBody),
    ))]
async fn signup(
    State(ctx): State<ApiContext>,
    ApiJson(body): ApiJson<SignupRequest>,
) -> ApiResult<Json<TokenResponse>> {
    self_signup_enabled(&ctx)?;
    let email = check_email(&body.email)?;
    limit_per_email(&ctx, &email).await?;
    let chars = body.password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidPassword,
            format!("`password` must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let display_name = match body.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => {
            require_text("display_name", name, MAX_DISPLAY_NAME_CHARS)?;
            name.to_string()
        }
        _ => email.split('@').next().unwrap_or_default().to_string(),
    };
    let password = body.password;
    let hash = blocking(&ctx, move || password::hash_password(&password))
        .await?
        .map_err(ApiError::internal)?;
    let user = db::users::create_local(&ctx.db, &email, &display_name, &hash)
        .await
        .map_err(|e| match e {
            db::users::CreateUserError::EmailTaken => ApiError::conflict(
                ErrorCode::EmailTaken,
                "An account with this email already exists",
            ),
            db::users::CreateUserError::Db(e) => e.into(),
        })?;
    tracing::info!(user_id = %user.id, "self-hosted account created");
    Ok(Json(token_for(&ctx, user)?))
}

/// Signs in to a self-hosted account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "wrong email or password", body = foil_types::wire::ErrorBody),
    ))]
async fn login(
    State(ctx): State<ApiContext>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    self_signup_enabled(&ctx)?;
    require_text("email", &body.email, MAX_EMAIL_CHARS)?;
    require_text("password", &body.password, MAX_PASSWORD_CHARS)?;
    let email = db::users::normalize_email(&body.email);
    limit_per_email(&ctx, &email).await?;
    let found = db::users::find_local_by_email(&ctx.db, &email).await?;
    let password = body.password;
    let user = blocking(&ctx, move || match found {
        Some((user, hash)) if password::verify_password(&password, &hash) => Some(user),
        Some(_) => None,
        None => {
            // Same work as a real check, so response time does not reveal which emails exist.
            password::dummy_verify(&password);
            None
        }
    })
    .await?
    .ok_or_else(|| {
        ApiError::unauthorized(ErrorCode::InvalidCredentials, "Invalid email or password")
    })?;
    Ok(Json(token_for(&ctx, user)?))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("jwt" = [])),
    responses((status = 200, body = UserInfo), (status = 401, body = foil_types::wire::ErrorBody)))]
async fn me(AuthUser(user): AuthUser) -> Json<UserInfo> {
    Json(user.into())
}

/// Moves the web-chat progress an anonymous player made under `old_session_id` to the caller,
/// when `anonymous_token` proves the caller was that anonymous player. Without the proof
/// nothing moves; anonymous callers cannot migrate; sessions of non-anonymous users are never
/// moved; sessions the caller already has for the same machine stay where they are.
#[utoipa::path(post, path = "/api/v1/auth/migrate-progress", tag = "auth", security(("jwt" = [])),
    request_body = MigrateProgressRequest,
    responses((status = 200, body = MigrateProgressResponse),
        (status = 401, body = foil_types::wire::ErrorBody),
        (status = 403, description = "anonymous caller, or a token that proves no anonymous player",
            body = foil_types::wire::ErrorBody)))]
async fn migrate_progress(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<MigrateProgressRequest>,
) -> ApiResult<Json<MigrateProgressResponse>> {
    require_text("old_session_id", &body.old_session_id, 128)?;
    if user.is_anonymous {
        return Err(ApiError::forbidden(
            ErrorCode::AnonymousUser,
            "Anonymous users cannot take over progress; sign in with an account first",
        ));
    }
    let Some(proof) = body.anonymous_token.as_deref() else {
        return Ok(Json(MigrateProgressResponse {
            migrated_sessions: 0,
        }));
    };
    let anonymous = ctx
        .jwt
        .verify(proof.trim())
        .await
        .ok()
        .filter(|claims| claims.is_anonymous)
        .ok_or_else(|| {
            ApiError::forbidden(
                ErrorCode::InvalidAnonymousToken,
                "`anonymous_token` is not a valid token of an anonymous user",
            )
        })?;
    ctx.seen_users
        .remember(
            &ctx.db,
            &db::users::User {
                id: anonymous.id,
                email: anonymous.email,
                display_name: anonymous.display_name,
                is_anonymous: true,
            },
        )
        .await?;
    let migrated = db::sessions::migrate_anonymous_progress(
        &ctx.db,
        anonymous.id,
        user.id,
        &body.old_session_id,
    )
    .await?;
    Ok(Json(MigrateProgressResponse {
        migrated_sessions: migrated,
    }))
}

/// `me` and `migrate-progress` ("General" rate limit).
pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(migrate_progress))
}

/// Sign-up and login, under their own strict per-IP limit ("Login").
pub(crate) fn login_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
}

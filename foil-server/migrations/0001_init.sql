-- Foil Engine schema, portable between SQLite and PostgreSQL (both run this same file).
-- Ids are UUID strings; timestamps are RFC 3339 UTC strings with microseconds, which sort
-- correctly as text. One portable schema lets one query code base serve both databases.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT,
    display_name  TEXT,
    password_hash TEXT,                 -- Argon2id PHC string; NULL for Supabase-only users
    is_anonymous  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL
);
-- Self-hosted accounts log in by email, so it must be unique among them.
CREATE UNIQUE INDEX users_local_email ON users (email) WHERE password_hash IS NOT NULL;

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,         -- hex SHA-256 (or HMAC-SHA256 with the pepper) of the key
    key_hint     TEXT NOT NULL,         -- the key's last 4 characters
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE personas (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT,
    is_public    BOOLEAN NOT NULL,
    is_published BOOLEAN NOT NULL,
    document     TEXT NOT NULL,         -- the persona document (JSON) without ids
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX personas_owner ON personas (owner_id, created_at);
CREATE INDEX personas_public ON personas (is_public, is_published, created_at);

-- Machine ids are stable across saves of the persona (matched by machine_key), so running
-- sessions keep pointing at their machine when the creator edits the persona.
CREATE TABLE machines (
    id          TEXT PRIMARY KEY,
    persona_id  TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    machine_key TEXT NOT NULL,
    position    BIGINT NOT NULL
);
CREATE UNIQUE INDEX machines_key ON machines (persona_id, machine_key);

-- scope is 'sdk:<account user id>' for Game SDK sessions and 'web:<user id>' for web chat.
CREATE TABLE chat_sessions (
    id              TEXT PRIMARY KEY,
    scope           TEXT NOT NULL,
    persona_id      TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    machine_id      TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    user_session_id TEXT NOT NULL,
    player_name     TEXT NOT NULL,
    player_gender   TEXT NOT NULL,
    current_state   TEXT NOT NULL,
    score           BIGINT NOT NULL DEFAULT 0,
    redirect_count  BIGINT NOT NULL DEFAULT 0,
    outcome         TEXT,
    summary         TEXT,
    summarized_seq  BIGINT NOT NULL DEFAULT 0,  -- messages up to this seq are in the summary
    turn_token      TEXT,                       -- set while a turn runs (session_busy)
    turn_expires_at TEXT,                       -- a crashed turn's claim lapses after this
    started_at      TEXT NOT NULL,
    last_message_at TEXT,
    last_active_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX chat_sessions_key ON chat_sessions (scope, persona_id, machine_id, user_session_id);
CREATE INDEX chat_sessions_player ON chat_sessions (scope, persona_id, user_session_id, last_active_at);

CREATE TABLE chat_messages (
    id                  TEXT PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    seq                 BIGINT NOT NULL,
    role                TEXT NOT NULL,
    content             TEXT NOT NULL,
    state_key_at_time   TEXT,
    score_at_time       BIGINT,
    decision            TEXT,
    follow_up_triggered BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX chat_messages_seq ON chat_messages (session_id, seq);

-- Machines a player unlocked by finishing linked machines.
CREATE TABLE machine_unlocks (
    scope           TEXT NOT NULL,
    persona_id      TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    user_session_id TEXT NOT NULL,
    machine_id      TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (scope, persona_id, user_session_id, machine_id)
);

-- What a player × persona carries between sessions: output variables and short memories.
CREATE TABLE player_memory (
    scope           TEXT NOT NULL,
    persona_id      TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    user_session_id TEXT NOT NULL,
    variables       TEXT NOT NULL,      -- JSON object key → string
    memories        TEXT NOT NULL,      -- JSON array of strings, oldest first
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (scope, persona_id, user_session_id)
);

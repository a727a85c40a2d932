-- LLM usage per day (issue 13): one row per day, account, API key, persona, provider, model and
-- pipeline step, added to as calls are made. '' stands for "none" in api_key_id / persona_id
-- (web chat and generation have no key; generation has no persona), so the key can be primary.
CREATE TABLE llm_usage_daily (
    day            TEXT NOT NULL,       -- YYYY-MM-DD, UTC
    user_id        TEXT NOT NULL,
    api_key_id     TEXT NOT NULL,
    persona_id     TEXT NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    step           TEXT NOT NULL,       -- eval, response, summarization, generation
    calls          BIGINT NOT NULL DEFAULT 0,
    estimated_calls BIGINT NOT NULL DEFAULT 0, -- calls whose provider reported no usage
    input_tokens   BIGINT NOT NULL DEFAULT 0,
    output_tokens  BIGINT NOT NULL DEFAULT 0,
    latency_ms     BIGINT NOT NULL DEFAULT 0,  -- summed; divide by calls for the mean
    turns          BIGINT NOT NULL DEFAULT 0,  -- player messages answered (on the response step's row)
    PRIMARY KEY (day, user_id, api_key_id, persona_id, provider, model, step)
);

-- Budgets read an account's (or a key's) day.
CREATE INDEX llm_usage_daily_user_day ON llm_usage_daily (user_id, day);
CREATE INDEX llm_usage_daily_key_day ON llm_usage_daily (api_key_id, day);

-- The evaluator's stated reason for each decision, kept with the player's message so a creator
-- can see why the NPC did what it did (dashboard sessions view). Never sent to players.
ALTER TABLE chat_messages ADD COLUMN evaluator_reason TEXT;

-- The creator's sessions view lists a persona's sessions by last activity.
CREATE INDEX chat_sessions_persona_activity ON chat_sessions (persona_id, last_active_at);

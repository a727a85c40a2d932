-- Player tokens (issue 13): an API key is either `full` (a game build's key, today's behaviour)
-- or `mint` (a game backend's key that only mints short-lived player tokens).
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';

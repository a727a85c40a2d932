#!/usr/bin/env python3
"""A minimal game backend that mints Foil Engine player tokens (docs/player-tokens.md).

The game asks this backend for a token for its signed-in player and uses the token in place
of an API key; the `mint` key stays here, never in the game build. Standard library only.

    FOIL_BASE_URL=http://127.0.0.1:8000 FOIL_MINT_KEY=pk_live_... python3 backend.py

POST /player-token {"player_id": "..."} -> {"token": "pt_...", "expires_at": "..."}

A real backend first checks who the player is (its own session cookie, a platform login such
as Steam or a console account) and mints only for that player; this example trusts the body
so that it stays short. It prints the address it listens on (PORT, default 8081; 0 = any).
"""

import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FOIL_BASE_URL = os.environ.get("FOIL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
FOIL_MINT_KEY = os.environ["FOIL_MINT_KEY"]  # scope `mint`: never ship it in a game
TTL_SECONDS = int(os.environ.get("TOKEN_TTL_SECONDS", "3600"))


def mint(player_id):
    """Asks Foil Engine for a token for `player_id`; returns (status, body bytes)."""
    request = urllib.request.Request(
        f"{FOIL_BASE_URL}/api/v1/sdk/player-tokens",
        data=json.dumps({"user_session_id": player_id, "ttl_seconds": TTL_SECONDS}).encode(),
        headers={"X-API-Key": FOIL_MINT_KEY, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/player-token":
            return self.answer(404, b'{"error": "not found"}')
        try:
            length = int(self.headers.get("Content-Length", "0"))
            player_id = json.loads(self.rfile.read(length))["player_id"]
        except (ValueError, KeyError, TypeError):
            return self.answer(400, b'{"error": "send {\\"player_id\\": \\"...\\"}"}')
        # Here a real backend authenticates the caller and checks it is `player_id`.
        self.answer(*mint(player_id))

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep tokens out of the console
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8081"))), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()

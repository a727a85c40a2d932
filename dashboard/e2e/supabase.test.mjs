// Sign-in on a Supabase deployment: the page gets the project URL and anon key from
// /api/v1/dashboard/config, signs in through @supabase/auth-js against a stand-in GoTrue (the
// real client, the real wire protocol: password grant, CORS, `apikey` header), and sends the
// Supabase access token to our API as Bearer. The test starts its own foil-server (the binary
// in FOIL_SERVER_BIN, which the Rust wrapper sets) configured with the Supabase settings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PASSWORD, newPage, uniqueEmail, useBrowser } from "./harness.mjs";

useBrowser();

const BIN = process.env.FOIL_SERVER_BIN;
const skip = BIN ? false : "FOIL_SERVER_BIN is not set (the Rust wrapper sets it)";
const SECRET = "supabase-legacy-jwt-secret-at-least-32-bytes";
const ANON_KEY = "anon-key-for-the-dashboard-test";

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
function hs256(claims) {
  const head = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}`;
  return `${head}.${createHmac("sha256", SECRET).update(head).digest("base64url")}`;
}

/** GoTrue's password grant and user endpoints, enough for auth-js; records every request. */
async function startGoTrue(users) {
  const seen = [];
  const server = createServer(async (req, res) => {
    const cors = {
      "Access-Control-Allow-Origin": req.headers.origin ?? "*",
      "Access-Control-Allow-Headers": "apikey, authorization, content-type, x-client-info, x-supabase-api-version",
      "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
    };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url, "http://gotrue");
    seen.push({ method: req.method, path: url.pathname, query: url.search, apikey: req.headers.apikey });
    const json = (status, value) => res.writeHead(status, { ...cors, "Content-Type": "application/json" }).end(JSON.stringify(value));
    if (req.method === "POST" && url.pathname === "/auth/v1/token" && url.searchParams.get("grant_type") === "password") {
      const { email, password } = JSON.parse(body || "{}");
      const user = users.get(email);
      if (!user || user.password !== password) return json(400, { error: "invalid_grant", error_description: "Invalid login credentials" });
      const now = Math.floor(Date.now() / 1000);
      const access_token = hs256({ sub: user.id, aud: "authenticated", role: "authenticated", email, iat: now, exp: now + 3600 });
      user.tokens.push(access_token);
      return json(200, {
        access_token,
        token_type: "bearer",
        expires_in: 3600,
        expires_at: now + 3600,
        refresh_token: randomUUID(),
        user: { id: user.id, aud: "authenticated", role: "authenticated", email, app_metadata: {}, user_metadata: {}, created_at: new Date().toISOString() },
      });
    }
    if (req.method === "POST" && url.pathname === "/auth/v1/logout") return res.writeHead(204, cors).end();
    json(404, { error: "not_found", error_description: `stand-in GoTrue has no ${req.method} ${url.pathname}` });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((ok) => server.close(ok)) };
}

/** foil-server on a fresh SQLite file, configured for Supabase; resolves once ready. */
async function startFoil(supabaseUrl) {
  const dir = mkdtempSync(join(tmpdir(), "foil-supabase-"));
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = probe.address().port;
  await new Promise((ok) => probe.close(ok));
  const child = spawn(BIN, ["serve"], {
    env: {
      PATH: process.env.PATH,
      RUST_LOG: "warn",
      FOIL_BIND: `127.0.0.1:${port}`,
      FOIL_DATABASE_URL: `sqlite://${join(dir, "supabase.db")}`,
      FOIL_JWT_SECRET: SECRET,
      FOIL_SUPABASE_URL: supabaseUrl,
      FOIL_SUPABASE_ANON_KEY: ANON_KEY,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`foil-server did not start at ${url}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return {
    url,
    close: async () => {
      child.kill();
      await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("sign in with Supabase Auth; the Supabase token is our API's Bearer", { skip }, async () => {
  const email = uniqueEmail("supabase");
  const user = { id: randomUUID(), password: PASSWORD, tokens: [] };
  const gotrue = await startGoTrue(new Map([[email, user]]));
  const foil = await startFoil(gotrue.url);
  try {
    const config = await (await fetch(`${foil.url}/api/v1/dashboard/config`)).json();
    assert.equal(config.auth_mode, "supabase");
    assert.equal(config.supabase_url, gotrue.url);
    assert.equal(config.signup_enabled, false);

    // Chromium logs the rejected password grant (400) as a console error: expected.
    const { page, shot, done } = await newPage({ allow: [/400 \(Bad Request\)/] });
    const bearers = new Set();
    page.on("request", (r) => {
      if (r.url().startsWith(`${foil.url}/api/v1/`) && r.headers().authorization) bearers.add(r.headers().authorization);
    });
    await page.goto(`${foil.url}/`);
    await page.getByText("Signing in with Supabase Auth.").waitFor();
    await shot("signin-supabase");

    // A wrong password: GoTrue's message, still on the sign-in page.
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid login credentials" }).waitFor();

    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Personas", level: 1 }).waitFor();
    assert.equal(user.tokens.length, 1, "one successful password grant");
    const grants = gotrue.seen.filter((r) => r.path === "/auth/v1/token");
    assert.equal(grants.length, 2);
    assert.ok(grants.every((r) => r.apikey === ANON_KEY && r.query === "?grant_type=password"), "auth-js sends the anon key");

    // The personas list was fetched with the Supabase token, and the server knows that user.
    await page.getByRole("heading", { name: "No personas yet" }).waitFor();
    assert.deepEqual([...bearers], [`Bearer ${user.tokens[0]}`], "every API call carries the Supabase access token");
    const me = await fetch(`${foil.url}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${user.tokens[0]}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).id, user.id);

    // Sign out: back to sign-in, and the token is gone from the page's storage.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    const stored = await page.evaluate(() => Object.values(localStorage).join("\n"));
    assert.ok(!stored.includes(user.tokens[0]), "signing out forgets the token");
    await done();
  } finally {
    await foil.close();
    await gotrue.close();
  }
});

// The creator's whole loop in a real browser: sign up, persona from an example, edit the graph
// (add a state, drag a transition), see and fix a validation problem, save, publish, playtest to
// an outcome (streamed, offline provider), read the session with evaluator reasons, and ship
// with an API key that works until it is revoked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BASE, EXAMPLES, newPage, personaIdFromUrl, save, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

const playthroughs = JSON.parse(readFileSync(join(EXAMPLES, "playthroughs/grumpy_barista.json"), "utf8"));
const accept = playthroughs.find((p) => p.outcome === "ACCEPT");

/** Drags from one element's centre to another's with real mouse events. */
async function drag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  assert.ok(a && b, "both handles are on screen");
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 20, a.y + a.height / 2 + 10, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
}

test("the whole creator loop", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  await shot("personas-empty");

  // A persona from the Grumpy Barista example.
  await page.getByRole("button", { name: "From example" }).click();
  const examples = page.getByRole("dialog", { name: "Start from an example" });
  await examples.getByRole("button", { name: /Grumpy Barista/ }).click();
  await page.getByRole("heading", { name: "Grumpy Barista", level: 1 }).waitFor();
  await waitNoProblems(page);
  await shot("editor-graph");

  // Add a state, lay out, and drag a transition from it to SERVED.
  const graph = page.getByRole("region", { name: "State machine graph" });
  await page.getByRole("button", { name: "Add state" }).click();
  await graph.getByTestId("state-node-S_NEW_1").waitFor();
  await page.getByRole("button", { name: "Auto layout" }).click();
  await page.waitForTimeout(400); // the fit-view animation (200 ms)
  await drag(page, graph.getByTestId("source-handle-S_NEW_1"), graph.getByTestId("target-handle-SERVED"));
  await page.getByText("14 transitions").waitFor();

  // The new transition's empty condition is a problem, shown on its edge and in the list.
  await graph.getByText("the condition must not be empty").first().waitFor();
  await page.getByRole("list", { name: "Problems" }).getByText("the condition must not be empty").waitFor();
  await shot("editor-validation-problem");

  // Fix it in the inspector.
  const inspector = page.getByRole("region", { name: "Inspector" });
  await inspector.getByLabel("Condition").fill("the player hums a cheerful tune");
  await waitNoProblems(page);

  // Save (a new persona gets its own URL), then publish.
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
  const personaId = personaIdFromUrl(page.url());
  await waitNoProblems(page);
  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("button", { name: "Publish" }).click();
  await page.getByText("Published", { exact: true }).first().waitFor();
  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("button", { name: "Unpublish" }).waitFor();

  // Playtest to ACCEPT with the offline provider; every reply is streamed.
  const playtest = page.getByRole("complementary", { name: "Playtest" });
  await playtest.getByLabel("Player name").fill("Robin");
  await playtest.getByRole("button", { name: "Start" }).click();
  const log = playtest.getByRole("log", { name: "Playtest conversation" });
  await log.locator("li").first().waitFor();
  await graph.locator('[aria-current="step"]').getByText("COUNTER", { exact: true }).waitFor();
  let streamed = 0;
  page.on("response", (r) => {
    if (r.url().includes("/message/stream") && (r.headers()["content-type"] ?? "").startsWith("text/event-stream")) streamed++;
  });
  for (const [i, line] of accept.messages.entries()) {
    await playtest.getByLabel("Message").fill(line);
    await playtest.getByRole("button", { name: "Send" }).click();
    // The user's line and the reply with its turn result.
    await log.locator("li").nth(2 * i + 2).getByLabel("Turn result").waitFor();
    await log.locator("li.streaming").waitFor({ state: "detached" });
  }
  await playtest.getByRole("status").filter({ hasText: "Outcome: ACCEPT" }).waitFor();
  assert.equal(streamed, accept.messages.length, "each turn used message/stream (SSE)");
  await graph.locator('[aria-current="step"]').getByText("SERVED", { exact: true }).waitFor();
  await shot("editor-playtest-outcome");

  // The session, with the evaluator's reasons.
  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("link", { name: "Sessions" }).click();
  await page.getByRole("heading", { name: /Sessions of Grumpy Barista/ }).waitFor();
  const row = page.getByRole("row").filter({ hasText: "Robin" });
  await row.getByText("ACCEPT").waitFor();
  await shot("sessions");
  await row.getByRole("link", { name: "Robin" }).click();
  await page.getByRole("list", { name: "Messages" }).waitFor();
  await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Grumpy Barista" }).waitFor();
  const reasons = page.getByText("Evaluator's reason:");
  await reasons.first().waitFor();
  assert.equal(await reasons.count(), accept.messages.length, "one evaluator reason per player message");
  await shot("session-detail");
  assert.ok(page.url().includes(`/personas/${personaId}/sessions/`));

  // An API key: shown once, works on the SDK, and is refused once revoked.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Key name").fill("e2e game");
  await page.getByRole("button", { name: "Create key" }).click();
  const created = page.getByRole("dialog", { name: "Your new API key" });
  await created.getByText("shown only this once").waitFor();
  const key = await created.getByLabel(/API key/).inputValue();
  assert.match(key, /^pk_live_[0-9a-f]{32}$/);
  await created.getByRole("button", { name: "Copy" }).waitFor();
  await shot("api-key-created");
  await created.getByRole("button", { name: "Done" }).click();
  assert.equal(await page.getByText(key).count(), 0, "the key is not shown again");

  const sdk = () => fetch(`${BASE}/api/v1/sdk/personas`, { headers: { "X-API-Key": key } });
  const ok = await sdk();
  assert.equal(ok.status, 200);
  const listed = await ok.json();
  assert.ok(listed.some((p) => p.id === personaId && p.name === "Grumpy Barista"), "the published persona is listed");

  // A backend key mints player tokens, which stand in for a key for one player.
  await page.getByLabel("Key name").fill("e2e backend");
  await page.getByLabel("Used by").selectOption({ label: "Game backend (mints player tokens)" });
  await page.getByRole("button", { name: "Create key" }).click();
  const backendDialog = page.getByRole("dialog", { name: "Your new API key" });
  const backendKey = await backendDialog.getByLabel(/API key/).inputValue();
  await backendDialog.getByRole("button", { name: "Done" }).click();
  await page.getByRole("row").filter({ hasText: "e2e backend" }).getByText("Game backend (mints player tokens)").waitFor();
  const minted = await fetch(`${BASE}/api/v1/sdk/player-tokens`, {
    method: "POST",
    headers: { "X-API-Key": backendKey, "Content-Type": "application/json" },
    body: JSON.stringify({ user_session_id: "e2e-player", persona_ids: [personaId] }),
  });
  assert.equal(minted.status, 200);
  const { token } = await minted.json();
  const viaToken = await fetch(`${BASE}/api/v1/sdk/personas`, { headers: { "X-API-Key": token } });
  assert.equal(viaToken.status, 200);
  assert.deepEqual((await viaToken.json()).map((p) => p.id), [personaId]);
  const backendOnSdk = await fetch(`${BASE}/api/v1/sdk/personas`, { headers: { "X-API-Key": backendKey } });
  assert.equal(backendOnSdk.status, 403, "a backend key only mints");

  await page.reload();
  await page.getByRole("row").filter({ hasText: "e2e game" }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog", { name: "Revoke API key?" }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("status").filter({ hasText: "Revoked" }).waitFor();
  await shot("api-keys");
  assert.equal((await sdk()).status, 401);

  await done();
});

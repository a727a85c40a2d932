// The sessions page pages through many players and filters them: 23 web-chat players of one
// persona (started through the public API with the creator's own token), 20 per page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, newPage, saveExample, signUp, useBrowser } from "./harness.mjs";

useBrowser();

const PLAYERS = 23;

test("sessions are paged and filtered", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  const personaId = await saveExample(page, /Grumpy Barista/);

  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("foil.auth")).token);
  for (let i = 1; i <= PLAYERS; i++) {
    const r = await fetch(`${BASE}/api/v1/chat/${personaId}/init-session`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user_session_id: `pager-${i}`, player_name: `Player ${String(i).padStart(2, "0")}`, player_gender: "female" }),
    });
    assert.equal(r.status, 200, await r.text());
  }

  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("link", { name: "Sessions" }).click();
  const pager = page.locator(".pager").getByRole("status");
  await pager.filter({ hasText: `1–20 of ${PLAYERS}` }).waitFor();
  const rows = page.getByRole("table").getByRole("row");
  assert.equal(await rows.count(), 21, "a header row and 20 sessions");
  assert.equal(await page.getByRole("button", { name: "Previous page" }).isDisabled(), true);
  await shot("sessions-paged");

  await page.getByRole("button", { name: "Next page" }).click();
  await pager.filter({ hasText: `21–${PLAYERS} of ${PLAYERS}` }).waitFor();
  assert.equal(await rows.count(), 1 + PLAYERS - 20);
  assert.match(page.url(), /offset=20/, "the page is in the URL");
  assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);

  // Every player on the two pages, each once.
  await page.getByRole("button", { name: "Previous page" }).click();
  await pager.filter({ hasText: `1–20 of ${PLAYERS}` }).waitFor();
  const first = await page.getByRole("table").getByRole("link").allTextContents();
  await page.getByRole("button", { name: "Next page" }).click();
  await pager.filter({ hasText: `21–${PLAYERS}` }).waitFor();
  const second = await page.getByRole("table").getByRole("link").allTextContents();
  const expected = Array.from({ length: PLAYERS }, (_, i) => `Player ${String(i + 1).padStart(2, "0")}`);
  assert.deepEqual([...first, ...second].sort(), expected);

  // Filters: all 23 are still active web-chat sessions, none has an outcome yet.
  const filters = page.getByRole("search", { name: "Filter sessions" });
  await filters.getByLabel("Outcome").selectOption("active");
  await pager.filter({ hasText: `1–20 of ${PLAYERS}` }).waitFor();
  assert.doesNotMatch(page.url(), /offset=/, "a new filter starts at the first page");
  await filters.getByLabel("Channel").selectOption("sdk");
  await page.getByText("No sessions match.").waitFor();
  await filters.getByLabel("Channel").selectOption("web");
  await pager.filter({ hasText: `of ${PLAYERS}` }).waitFor();
  await filters.getByLabel("Outcome").selectOption("ACCEPT");
  await page.getByText("No sessions match.").waitFor();
  await done();
});

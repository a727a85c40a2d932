// The creator's whole loop in a real browser: sign up, a persona from an example, edit its
// graph with validation shown in place, save, publish, playtest to an outcome (streamed),
// the session with its evaluator reasons, an API key used and revoked; plus an XSS probe and
// the offline API reference.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BASE, openBrowser, signUp, uniqueEmail } from "./harness.mjs";

const playthroughs = JSON.parse(
  readFileSync(new URL("../../examples/personas/playthroughs/grumpy_barista.json", import.meta.url), "utf8"),
);

test("the creator's whole loop", async () => {
  const b = await openBrowser();
  const { page } = b;
  try {
    await signUp(page, uniqueEmail("loop"));
    await b.shot("personas-empty");

    await page.getByRole("button", { name: "From example" }).click();
    await page.getByRole("button", { name: /Grumpy Barista/ }).click();
    await page.getByRole("region", { name: "State machine graph" }).waitFor();

    // Add a state and connect it: the new transition's empty condition is a problem shown at it.
    await page.getByRole("button", { name: "Add state" }).click();
    const inspector = page.getByRole("region", { name: "Inspector" });
    await inspector.getByLabel("To state").selectOption("S_NEW_1");
    await inspector.getByRole("button", { name: "Add transition" }).click();
    await inspector.getByText("Condition").waitFor();
    const problem = inspector.getByRole("alert");
    await problem.waitFor();
    assert.match(await problem.innerText(), /condition/i);
    await b.shot("editor-problem");
    // Fix it: remove the experiment again (the example is already valid).
    await inspector.getByRole("button", { name: "Delete transition" }).click();
    await inspector.getByRole("button", { name: "Delete state" }).click();
    await page.getByRole("region", { name: "Problems" }).waitFor({ state: "detached" });

    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
    await page.getByRole("button", { name: "Publish" }).click();
    await page.getByRole("button", { name: "Unpublish" }).waitFor();
    const personaId = page.url().split("/").pop();

    // Playtest to ACCEPT with the offline provider, streamed.
    const playtest = page.getByRole("complementary", { name: "Playtest" });
    await playtest.getByRole("button", { name: "Start" }).click();
    await playtest.getByRole("listitem").first().waitFor();
    const accept = playthroughs.find((p) => p.outcome === "ACCEPT");
    for (const line of accept.messages) {
      await playtest.getByLabel("Message").fill(line);
      await playtest.getByRole("button", { name: "Send" }).click();
      await playtest.getByRole("button", { name: "Send" }).waitFor();
      await page.waitForFunction(() => !document.querySelector(".playtest button[type=submit]")?.textContent?.includes("…"));
      await playtest.getByLabel("Turn result").last().waitFor();
    }
    await playtest.getByRole("status").filter({ hasText: "Outcome: ACCEPT" }).waitFor();
    await b.shot("editor-playtest");

    // The session, with the evaluator's reasons.
    await page.goto(`${BASE}/personas/${personaId}/sessions`);
    await page.getByRole("cell", { name: "ACCEPT" }).first().waitFor();
    await b.shot("sessions");
    await page.getByRole("link", { name: /Alex|open|view/i }).first().click();
    await page.getByText(/shares \d+ words? with the condition/).first().waitFor();
    await b.shot("session-detail");

    // An API key: shown once, works on the SDK route, revoked → 401.
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Key name").fill("My game");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = await page.getByLabel(/API key “My game”/).inputValue();
    assert.match(key, /^pk_live_[0-9a-f]{32}$/);
    await page.getByText(/only this once/i).first().waitFor();
    await b.shot("api-key-created");
    const listed = await fetch(`${BASE}/api/v1/sdk/personas`, { headers: { "X-API-Key": key } });
    assert.equal(listed.status, 200);
    assert.ok((await listed.json()).some((p) => p.id === personaId));
    await page.getByRole("button", { name: "Done" }).or(page.getByRole("button", { name: /close|done|got it/i })).first().click();
    await page.getByRole("button", { name: "Revoke" }).first().click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("status").filter({ hasText: "Revoked" }).waitFor();
    await b.shot("api-keys");
    const refused = await fetch(`${BASE}/api/v1/sdk/personas`, { headers: { "X-API-Key": key } });
    assert.equal(refused.status, 401);

    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

test("persona text is rendered as text (XSS probe)", async () => {
  const b = await openBrowser();
  const { page } = b;
  try {
    await signUp(page, uniqueEmail("xss"));
    const token = await page.evaluate(() => {
      for (const k of Object.keys(localStorage)) {
        const v = localStorage.getItem(k) ?? "";
        const m = /"token":"([^"]+)"/.exec(v);
        if (m) return m[1];
      }
      return null;
    });
    assert.ok(token, "the page keeps a token");
    const doc = JSON.parse(readFileSync(new URL("../../examples/personas/grumpy_barista.json", import.meta.url), "utf8"));
    doc.persona.name = "<img src=x onerror=alert(1)>";
    const saved = await fetch(`${BASE}/api/v1/creator/save`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    assert.equal(saved.status, 201);
    await page.reload();
    await page.getByText("<img src=x onerror=alert(1)>").first().waitFor();
    assert.equal(await page.locator("img[src=x]").count(), 0);
    await page.getByText("<img src=x onerror=alert(1)>").first().click();
    await page.getByRole("heading", { name: "<img src=x onerror=alert(1)>" }).waitFor();
    assert.equal(await page.locator("img[src=x]").count(), 0);
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

test("the API reference renders offline", async () => {
  const b = await openBrowser();
  const { page } = b;
  try {
    // Scalar's bundle still asks for its CDN fonts; the CSP refuses them (nothing from the
    // internet is ever loaded) and the page uses system fonts. Any outside request that
    // completes, or any other problem, fails the test.
    const loadedOutside = [];
    page.on("requestfinished", (r) => {
      if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) loadedOutside.push(r.url());
    });
    await page.goto(`${BASE}/docs`);
    await page.getByText("Foil Engine API").first().waitFor({ timeout: 30_000 });
    await b.shot("api-reference");
    assert.deepEqual(loadedOutside, []);
    // Scalar also tries its registry (api.scalar.com via proxy.scalar.com): refused the same way.
    const refusedByCsp = (p) => /scalar\.com/.test(p) && /Content Security Policy/.test(p);
    const unexpected = b.problems.filter((p) => !p.includes("fonts.scalar.com") && !refusedByCsp(p));
    assert.deepEqual(unexpected, []);
  } finally {
    await b.close();
  }
});

// Export a persona as JSON and as YAML (real downloads), import each file again, and compare
// the stored documents: equal apart from ids. And the list's other actions: publish /
// unpublish, duplicate, delete with confirmation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BASE, newPage, personaIdFromUrl, save, saveExample, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

function withoutIds(v) {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) if (k !== "id") out[k] = withoutIds(x);
    return out;
  }
  return v;
}

async function fullDoc(page, id) {
  // Read through the page's own session (same origin, same token).
  return page.evaluate(async (pid) => {
    const token = JSON.parse(localStorage.getItem("foil.auth")).token;
    const r = await fetch(`/api/v1/personas/${pid}/full`, { headers: { Authorization: `Bearer ${token}` } });
    return r.json();
  }, id);
}

test("export JSON and YAML, re-import both, same document", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  // Start from the linked example (several scenarios, links, output variables).
  await page.getByRole("button", { name: "From example" }).click();
  await page.getByRole("dialog", { name: "Start from an example" }).getByRole("button", { name: /Corwin/ }).click();
  await waitNoProblems(page);
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
  const originalId = personaIdFromUrl(page.url());
  const original = withoutIds(await fullDoc(page, originalId));

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
  const row = page.getByRole("row").filter({ hasText: "Corwin" });
  const files = {};
  for (const format of ["JSON", "YAML"]) {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      row.getByRole("button", { name: `Export ${format}` }).click(),
    ]);
    assert.equal(download.suggestedFilename(), format === "JSON" ? "corwin.json" : "corwin.yaml");
    files[format] = await download.path();
  }
  const jsonText = readFileSync(files.JSON, "utf8");
  assert.ok(!/"id"\s*:/.test(jsonText), "exports carry no ids");
  assert.match(readFileSync(files.YAML, "utf8"), /^persona:/m);

  for (const format of ["JSON", "YAML"]) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
    await page.getByLabel("Import file").setInputFiles(files[format]);
    await page.getByRole("heading", { name: "Corwin", level: 1 }).waitFor();
    await waitNoProblems(page);
    await save(page);
    await page.waitForURL((u) => /\/personas\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.includes(originalId));
    const copy = withoutIds(await fullDoc(page, personaIdFromUrl(page.url())));
    assert.deepEqual(copy, original, `the ${format} round trip keeps the document`);
  }

  // A broken file shows its parse error and changes nothing.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
  await page.getByLabel("Import file").setInputFiles({ name: "broken.yaml", mimeType: "application/yaml", buffer: Buffer.from("persona: [unclosed\n") });
  await page.getByRole("alert").filter({ hasText: "Could not import broken.yaml" }).waitFor();
  await shot("personas-import-error");
  assert.equal(await page.getByRole("row").filter({ hasText: "Corwin" }).count(), 3);
  assert.ok(BASE);
  await done();
});

test("an export with thresholds on a pass_fail scenario imports with warnings and saves", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  const exported = {
    persona: { name: "Gatekeeper", identity_prompt: "You guard the gate.", is_public: false, is_published: false },
    machines: [
      {
        machine_key: "gate",
        name: "At the gate",
        is_entry: true,
        scoring_mode: "pass_fail",
        pass_threshold: 1,
        fail_threshold: -3,
        states: [
          { state_key: "S0", prompt_instruction: "Ask for the password.", is_initial_state: true },
          { state_key: "IN", prompt_instruction: "Let them in.", is_terminal_state: true, terminal_outcome: "ACCEPT" },
        ],
        transitions: [{ from_state_key: "S0", to_state_key: "IN", decision_type: "pass", condition: "the player knows the password" }],
      },
    ],
  };
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
  await page.getByLabel("Import file").setInputFiles({ name: "gatekeeper.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(exported)) });
  await page.getByRole("heading", { name: "Gatekeeper", level: 1 }).waitFor();
  const toggle = page.getByRole("button", { name: "✓ No problems · 2 warnings" });
  await toggle.waitFor();
  assert.equal(await toggle.getAttribute("aria-expanded"), "true", "the list is open");
  const warnings = page.getByRole("list", { name: "Warnings" });
  await warnings.getByText("pass_threshold is ignored in pass_fail mode", { exact: false }).waitFor();
  assert.equal(await warnings.getByRole("listitem").count(), 2);
  assert.equal(await page.getByRole("list", { name: "Problems" }).count(), 0, "warnings are not problems");
  await shot("editor-warnings");
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
  const id = personaIdFromUrl(page.url());
  const kept = await fullDoc(page, id);
  assert.equal(kept.machines[0].pass_threshold, 1, "the thresholds are kept");
  await done();
});

test("publish, duplicate and delete from the personas list", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  const id = await saveExample(page, /Grumpy Barista/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();

  const row = (name) => page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
  const original = row("Grumpy Barista");
  await original.getByText("Draft").waitFor();
  await original.getByRole("button", { name: "Publish" }).click();
  await original.getByRole("button", { name: "Unpublish" }).waitFor();
  assert.equal((await fullDoc(page, id)).persona.is_published, true);
  await original.getByRole("button", { name: "Unpublish" }).click();
  await original.getByRole("button", { name: "Publish" }).waitFor();
  assert.equal((await fullDoc(page, id)).persona.is_published, false);

  // Duplicate: a new persona with the same machines, named "(copy)", a draft.
  await original.getByRole("button", { name: "Duplicate" }).click();
  const copyRow = row("Grumpy Barista (copy)");
  await copyRow.waitFor();
  const copyHref = await copyRow.getByRole("link", { name: "Grumpy Barista (copy)" }).getAttribute("href");
  const copyId = personaIdFromUrl(copyHref);
  assert.notEqual(copyId, id);
  const [a, b] = [withoutIds(await fullDoc(page, id)), withoutIds(await fullDoc(page, copyId))];
  assert.deepEqual(b.machines, a.machines, "the copy has the same scenarios");
  await shot("personas-list");

  // Delete asks first; Cancel keeps it, Delete removes it for good.
  await copyRow.getByRole("button", { name: "Delete" }).click();
  const confirm = page.getByRole("dialog", { name: "Delete persona?" });
  await confirm.getByText("cannot be undone").waitFor();
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await confirm.waitFor({ state: "detached" });
  await copyRow.waitFor();
  await copyRow.getByRole("button", { name: "Delete" }).click();
  await confirm.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("status").filter({ hasText: "Deleted “Grumpy Barista (copy)”." }).waitFor();
  await copyRow.waitFor({ state: "detached" });
  // Checked from outside the page (a 404 inside it would be logged as a console error).
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("foil.auth")).token);
  const gone = await fetch(`${BASE}/api/v1/personas/${copyId}/full`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(gone.status, 404);
  await original.waitFor();
  await done();
});

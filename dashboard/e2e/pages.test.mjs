// Every page renders without a console error; /docs shows the API reference offline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, newPage, save, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

test("every page renders cleanly", async () => {
  const { page, shot, done } = await newPage();
  await page.goto("/");
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await shot("signin");
  await signUp(page);

  await page.getByRole("button", { name: "From example" }).click();
  const examples = page.getByRole("dialog", { name: "Start from an example" });
  await examples.getByRole("button").filter({ hasText: "Captain Reva" }).waitFor();
  await shot("personas-examples");
  await examples.getByRole("button", { name: /Corwin/ }).click();
  await waitNoProblems(page);
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);

  const sections = page.getByRole("navigation", { name: "Persona sections" });
  await sections.getByRole("button", { name: /Identity/ }).click();
  await page.getByLabel(/^Identity prompt/).waitFor();
  await shot("editor-identity");
  await sections.getByRole("button", { name: /Variables/ }).click();
  await page.getByLabel("Variable 1 key").waitFor();
  await shot("editor-variables");
  await sections.getByRole("button", { name: /A Meeting on the Road/ }).click();
  await page.getByRole("tab", { name: /Settings/ }).click();
  await page.getByLabel(/^Objective/).waitFor();
  await shot("editor-settings");
  await sections.getByRole("button", { name: /Links/ }).click();
  await page.getByRole("heading", { name: "Links between scenarios" }).waitFor();
  await page.waitForTimeout(300);
  await shot("editor-links");
  await sections.getByRole("button", { name: /Document/ }).click();
  await page.getByLabel("Document text").waitFor();
  await shot("editor-document");

  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("link", { name: "Sessions" }).click();
  await page.getByText("No sessions match.").waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
  await page.getByText("No API keys yet.").waitFor();
  await page.goto("/no/such/page");
  await page.getByRole("heading", { name: "Page not found" }).waitFor();

  await done();
});

test("/docs renders the API reference offline", async () => {
  // Nothing may reach the internet. Scalar's fonts are rewritten to local() at build time; its
  // agent panel still asks its registry (proxy.scalar.com) even with `agent.disabled`: the
  // CSP refuses that before anything leaves the machine, and only that refusal is allowed.
  const { page, shot, done } = await newPage({ allow: [/proxy\.scalar\.com\/\?scalar_url=https%3A%2F%2Fapi\.scalar\.com%2Fvector%2Fregistry/] });
  const loadedOutside = [];
  page.on("requestfinished", (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) loadedOutside.push(r.url());
  });
  await page.goto("/docs");
  await page.getByText("Foil Engine API").first().waitFor({ timeout: 20_000 });
  await shot("api-reference");
  assert.deepEqual(loadedOutside, [], "nothing is loaded from outside the server");
  await done();
});

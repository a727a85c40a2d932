// AI generation and polish against the project's mock LLM, reached as the custom provider
// `mock` (model `mock/studio`, any key) that the Rust test wrapper configures. Locally, without
// that provider, set FOIL_E2E_NO_MOCK=1 to skip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, save, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

const skip = process.env.FOIL_E2E_NO_MOCK === "1" ? "FOIL_E2E_NO_MOCK=1: no mock provider" : false;

test("generate a persona from a brief, then polish a field", { skip }, async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  await page.getByRole("button", { name: "Generate with AI" }).click();
  const dialog = page.getByRole("dialog", { name: "Generate a persona with AI" });
  await dialog.getByLabel("Brief").fill("A village blacksmith who forges a blade only for a worthy cause.");
  await dialog.getByLabel("Model").fill("mock/studio");
  await dialog.getByLabel("API key").fill("sk-test");
  assert.equal(await dialog.getByLabel("API key").getAttribute("type"), "password");
  await shot("generate-dialog");
  await dialog.getByRole("button", { name: "Generate" }).click();

  await page.getByRole("heading", { name: "Brannoc the Smith", level: 1 }).waitFor({ timeout: 30_000 });
  await page.getByText("forge_a_blade", { exact: true }).first().waitFor();
  await page.getByText("Not saved yet").waitFor();
  await waitNoProblems(page);
  await shot("editor-generated");

  // The key typed into the page is never stored.
  const stored = await page.evaluate(() => Object.values(localStorage).join("\n") + Object.values(sessionStorage).join("\n"));
  assert.ok(!stored.includes("sk-test"), "the BYOK key is kept in memory only");

  // Polish the identity prompt (same model, from memory).
  await page.getByRole("navigation", { name: "Persona sections" }).getByRole("button", { name: /Identity/ }).click();
  const prompt = page.getByLabel(/^Identity prompt/);
  await page.getByRole("button", { name: "Polish Identity prompt" }).click();
  await page.waitForFunction(
    () => (document.querySelector("#field-persona-identity_prompt")?.value ?? "").startsWith("Polished:"),
    null,
    { timeout: 30_000 },
  );
  assert.match(await prompt.inputValue(), /^Polished:/);
  await page.getByRole("button", { name: "Undo polish of Identity prompt" }).waitFor();
  await shot("editor-polished");

  // Every call above is on the account's usage page: generate persona, generate scenario, polish.
  await save(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
  await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
  await page.getByLabel("Group by").selectOption("model");
  const table = page.getByRole("table", { name: "Usage by model" });
  const row = table.getByRole("row", { name: /mock\/studio/ });
  await row.waitFor();
  const cells = await row.getByRole("cell").allInnerTexts();
  assert.ok(Number(cells[0].replace(/\D/g, "")) >= 3, `calls: ${cells[0]}`);
  assert.ok(Number(cells[2].replace(/\D/g, "")) > 0, `input tokens: ${cells[2]}`);
  await page.getByLabel("Group by").selectOption("step");
  await page.getByRole("table", { name: "Usage by pipeline step" }).getByRole("row", { name: /generation/ }).waitFor();
  await shot("usage");
  await done();
});

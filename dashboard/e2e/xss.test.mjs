// A persona named like an HTML injection is shown as literal text everywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, save, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

const EVIL = "<img src=x onerror=alert(1)>";

test("persona text is rendered as text, never as HTML", async () => {
  const { page, shot, done, problems } = await newPage();
  await signUp(page);
  await page.getByRole("button", { name: "New blank" }).click();
  await page.getByRole("navigation", { name: "Persona sections" }).getByRole("button", { name: /Identity/ }).click();
  await page.getByLabel("Name", { exact: false }).first().fill(EVIL);
  await page.getByLabel(/^Description/).fill(`${EVIL} <script>alert(2)</script>`);
  await waitNoProblems(page);
  await save(page);
  await page.getByRole("heading", { level: 1, name: EVIL }).waitFor();
  await shot("xss-editor");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
  await page.getByRole("link", { name: EVIL, exact: true }).waitFor();
  await page.getByText(`${EVIL} <script>alert(2)</script>`).waitFor();
  await shot("xss-list");
  assert.equal(await page.locator("img").count(), 0, "no <img> element was created");
  assert.equal(await page.locator("main script").count(), 0, "no <script> element was created");
  await page.waitForTimeout(200);
  assert.deepEqual(problems.filter((p) => p.includes("dialog")), [], "no alert dialog opened");
  await done();
});

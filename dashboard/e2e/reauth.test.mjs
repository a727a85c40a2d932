// An expired or invalid token asks to sign in again, over the page, and no edit is lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, newPage, save, signUp, uniqueEmail, useBrowser } from "./harness.mjs";

useBrowser();

test("a rejected token leads to sign-in without losing the draft", async () => {
  // The server's 401 is expected here (Chromium logs every 4xx fetch as a console error).
  const { page, shot, done } = await newPage({ allow: [/401 \(Unauthorized\)/, /400 \(Bad Request\)/] });
  const email = uniqueEmail("reauth");
  await signUp(page, email);
  await page.getByRole("button", { name: "New blank" }).click();
  await page.getByRole("navigation", { name: "Persona sections" }).getByRole("button", { name: /Identity/ }).click();
  const name = page.getByLabel(/^Name/);

  // A failed save keeps the draft and shows the problem at its field.
  await name.fill("");
  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Not saved" }).waitFor();
  assert.equal(await name.getAttribute("aria-invalid"), "true");
  await shot("editor-save-failed");
  await name.fill("Kept across sign-in");

  // Leaving with unsaved changes asks first.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Personas" }).click();
  const leave = page.getByRole("dialog", { name: "Leave without saving?" });
  await leave.getByRole("button", { name: "Cancel" }).click();
  await leave.waitFor({ state: "detached" });
  assert.equal(await name.inputValue(), "Kept across sign-in");
  await page.waitForTimeout(400); // the draft is written to localStorage after 250 ms

  // The token goes bad (expired, revoked, secret rotated...) and the page reloads.
  await page.evaluate(() => {
    const a = JSON.parse(localStorage.getItem("foil.auth"));
    localStorage.setItem("foil.auth", JSON.stringify({ ...a, token: "not-a-valid-token" }));
  });
  await page.reload();
  const dialog = page.getByRole("dialog", { name: "Sign in again" });
  await dialog.waitFor();
  await shot("reauth-dialog");
  await dialog.getByLabel("Password").fill(PASSWORD);
  assert.equal(await dialog.getByLabel("Email").inputValue(), email);
  await dialog.getByRole("button", { name: "Sign in" }).click();
  await dialog.waitFor({ state: "detached" });

  await page.getByRole("heading", { name: "Kept across sign-in", level: 1 }).waitFor();
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
  await done();
});

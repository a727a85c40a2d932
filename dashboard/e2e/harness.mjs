// Shared setup for the dashboard's browser tests: Debian's Chromium driven by playwright-core
// (never a downloaded browser), against the foil-server at FOIL_BASE_URL. Every test fails on a
// console error, an uncaught page error or a failed request unless it allows the pattern.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const BASE = (process.env.FOIL_BASE_URL || "http://127.0.0.1:8123").replace(/\/+$/, "");
export const SCREENSHOTS = process.env.FOIL_SCREENSHOTS || resolve(here, "../../target/dashboard-screenshots");
export const EXAMPLES = resolve(here, "../../examples/personas");
export const CHROMIUM = process.env.FOIL_CHROMIUM || "/usr/bin/chromium";
/** Bounded waits everywhere. */
export const TIMEOUT = 15_000;

mkdirSync(SCREENSHOTS, { recursive: true });

let browser = null;

/** Debian's Chromium, headless, with the flags this machine needs (never a downloaded browser). */
export function launchChromium() {
  // Playwright's plain launch gives Chromium a fresh, empty temporary profile.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Launches one browser for the test file (call at the top level of the file). */
export function useBrowser() {
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
}

/**
 * A fresh context and page. `allow` lists regexps of console errors / failed requests that this
 * test expects. Call `done()` at the end: it asserts that nothing unexpected happened.
 */
export async function newPage({ allow = [] } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    baseURL: BASE,
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const problems = [];
  const allowed = (text) => allow.some((re) => re.test(text));
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      const text = `console error: ${msg.text()} (${msg.location()?.url ?? ""})`;
      if (!allowed(text)) problems.push(text);
    }
  });
  page.on("pageerror", (err) => {
    const text = `page error: ${err.message}`;
    if (!allowed(text)) problems.push(text);
  });
  page.on("requestfailed", (req) => {
    const failure = req.failure()?.errorText ?? "";
    // Aborted fetches (a superseded validation, a download blob) are not failures.
    if (/ERR_ABORTED/.test(failure)) return;
    const text = `request failed: ${req.method()} ${req.url()} ${failure}`;
    if (!allowed(text)) problems.push(text);
  });
  page.on("dialog", async (d) => {
    // The editor's unsaved-changes guard: leaving is what the test asked for.
    if (d.type() === "beforeunload") return d.accept().catch(() => {});
    problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return {
    page,
    context,
    problems,
    /** Saves a full-page screenshot as target/dashboard-screenshots/NAME.png. */
    shot: async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    done: async () => {
      await context.close();
      assert.deepEqual(problems, [], "no console errors, page errors or failed requests");
    },
  };
}

let counter = 0;
export function uniqueEmail(tag = "creator") {
  counter += 1;
  return `${tag}-${Date.now().toString(36)}-${process.pid}-${counter}@example.test`;
}

export const PASSWORD = "correct horse battery staple";

/** Signs up a new account through the sign-in page and lands on the personas list. */
export async function signUp(page, email = uniqueEmail()) {
  await page.goto("/");
  await page.getByRole("button", { name: "I'm new here" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Personas", level: 1 }).waitFor();
  return email;
}

/** Waits until the editor's validation shows no problems. */
export async function waitNoProblems(page) {
  await page.getByRole("button", { name: "✓ No problems" }).waitFor();
}

/** Saves the persona in the editor and waits until the save is confirmed. */
export async function save(page) {
  await page.getByRole("toolbar", { name: "Persona actions" }).getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "All changes saved" }).waitFor();
}

/** The persona id from an editor URL (/personas/ID). */
export function personaIdFromUrl(url) {
  const m = /\/personas\/([0-9a-f-]{36})/.exec(url);
  assert.ok(m, `an editor URL: ${url}`);
  return m[1];
}

/**
 * Creates a persona from the example whose button name matches `example`, saves it, and
 * returns its id (the editor stays open on it).
 */
export async function saveExample(page, example) {
  await page.getByRole("button", { name: "From example" }).click();
  await page.getByRole("dialog", { name: "Start from an example" }).getByRole("button", { name: example }).click();
  await waitNoProblems(page);
  await save(page);
  await page.waitForURL(/\/personas\/[0-9a-f-]{36}$/);
  return personaIdFromUrl(page.url());
}

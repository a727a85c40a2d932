// Shared set-up of the dashboard's browser tests: Debian's Chromium through playwright-core
// (never a downloaded browser), a fresh context per test, and a failure on any console error
// or failed request. The server is started by foil-server/tests/dashboard_browser.rs and its
// URL passed in FOIL_BASE_URL.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BASE = process.env.FOIL_BASE_URL ?? "http://127.0.0.1:8000";
const SHOTS = process.env.FOIL_SCREENSHOTS ?? join(process.cwd(), "../target/dashboard-screenshots");

export async function openBrowser() {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "foil-chromium-")), {
    executablePath: "/usr/bin/chromium",
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
    acceptDownloads: true,
    viewport: { width: 1440, height: 1000 },
  });
  const problems = [];
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A stream or validation request the page aborted on purpose is not a failure.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("dialog", (d) => {
    problems.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
  // Generous: CI runs this on 2 busy cores.
  page.setDefaultTimeout(30_000);
  return {
    page,
    problems,
    async shot(name) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    },
    close: () => context.close(),
  };
}

let counter = 0;
export function uniqueEmail(tag) {
  counter += 1;
  return `${tag}-${Date.now()}-${counter}@example.com`;
}

export async function signUp(page, email) {
  await page.goto(`${BASE}/`);
  await page.getByRole("button", { name: "I'm new here" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Personas", level: 1 }).waitFor();
}

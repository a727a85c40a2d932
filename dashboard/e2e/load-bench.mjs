// Dashboard load benchmark: time to interactive on loopback against a running foil-server.
//
//   cargo run --release -p foil-server          # in another terminal (or any FOIL_BASE_URL)
//   cd dashboard && FOIL_BASE_URL=http://127.0.0.1:8000 node e2e/load-bench.mjs [--runs 10]
//
// For three pages (sign-in, the personas list signed in, the editor of the Wandering Merchant
// example, the largest), it loads the page RUNS times in a fresh browser context (cold cache) and
// RUNS times by reloading in one context (warm: hashed assets come from the cache, index.html is
// revalidated). "Interactive" is when the page's main control is visible and enabled, measured
// from the navigation's start (Navigation Timing, in the page) so the Node side's polling adds
// nothing. Prints one JSON object with p50 / p90 / max per page and cache state.
// A figure for BENCHMARKS.md, not an assertion. Headless Chromium with --disable-gpu.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXAMPLES, PASSWORD, launchChromium, uniqueEmail } from "./harness.mjs";

const BASE = (process.env.FOIL_BASE_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf("--runs") + 1] || 10) || 10;

const browser = await launchChromium();

// An account and one saved persona through the public API.
const post = async (path, body, token) => {
  const r = await fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const email = uniqueEmail("loadbench");
const session = await post("/api/v1/auth/signup", { email, password: PASSWORD });
const token = session.access_token;
const doc = JSON.parse(readFileSync(join(EXAMPLES, "wandering_merchant.json"), "utf8"));
const saved = await post("/api/v1/creator/save", doc, token);
const personaId = saved.persona_id ?? saved.id ?? saved.persona?.id;
if (!personaId) throw new Error(`creator/save answered without an id: ${JSON.stringify(saved).slice(0, 200)}`);
const auth = JSON.stringify({ token, email, expiresAt: Date.now() + session.expires_in * 1000 });

const pages = [
  { name: "sign-in", path: "/", signedIn: false, ready: (p) => p.getByRole("button", { name: "Sign in" }) },
  { name: "personas", path: "/", signedIn: true, ready: (p) => p.getByRole("link", { name: doc.persona.name }) },
  { name: "editor", path: `/personas/${personaId}`, signedIn: true, ready: (p) => p.getByRole("button", { name: "Add state" }) },
];

async function interactiveMs(page, ready) {
  const control = ready(page);
  await control.waitFor({ state: "visible", timeout: 30_000 });
  // The moment it became usable, in the page's clock (ms since navigation start).
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        requestAnimationFrame(() => resolve(performance.now()));
      }),
  );
}

const percentile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const round = (x) => Math.round(x * 10) / 10;
const summary = (xs) => ({ p50: round(percentile(xs, 0.5)), p90: round(percentile(xs, 0.9)), max: round(Math.max(...xs)) });

async function newContext(signedIn) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  if (signedIn) await context.addInitScript((value) => localStorage.setItem("foil.auth", value), auth);
  return context;
}

const result = { base_url: BASE, runs: RUNS, pages: {} };
for (const spec of pages) {
  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await newContext(spec.signedIn);
    const page = await context.newPage();
    await page.goto(`${BASE}${spec.path}`, { waitUntil: "commit" });
    cold.push(await interactiveMs(page, spec.ready));
    await context.close();
  }
  const warm = [];
  const context = await newContext(spec.signedIn);
  const page = await context.newPage();
  await page.goto(`${BASE}${spec.path}`);
  await interactiveMs(page, spec.ready);
  for (let i = 0; i < RUNS; i++) {
    await page.reload({ waitUntil: "commit" });
    warm.push(await interactiveMs(page, spec.ready));
  }
  await context.close();
  result.pages[spec.name] = { cold_ms: summary(cold), warm_ms: summary(warm) };
}
await browser.close();
console.log(JSON.stringify(result, null, 2));

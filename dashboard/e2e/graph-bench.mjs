// Graph editor benchmark: time to render the largest machine validation allows (200 states,
// ~400 transitions, no stored positions, so dagre lays it out) and to move a node (drag).
//
// It builds its own page: a throwaway Vite app in a temp dir that renders <MachineGraph> from
// src/graph/ in a 1440×900 viewport (no server, no login), served by a tiny static server on
// 127.0.0.1, driven by Debian's Chromium through playwright-core (never a downloaded browser).
//
//   cd dashboard && node e2e/graph-bench.mjs                 # 200 states, 3 runs
//   node e2e/graph-bench.mjs --states 120 --runs 5
//   node e2e/graph-bench.mjs --shots /tmp/shots              # also screenshots of every example persona
//   node e2e/graph-bench.mjs --runs 0 --keep                  # just build the demo page and keep its temp dir
//                                                             # (pages: ?persona=<example>&machine=<i>&active=<KEY>&validate=1,
//                                                             #  ?view=links&persona=<example>, ?states=<n>)
//
// Prints one JSON object: per run, render_ms (page script start → all rendered nodes measured and
// painted, fitView applied), drag frame intervals (mean / p95 / max ms over a 30-step drag) and
// drop_ms (mouse up → position stored in the document and repainted); medians over the runs.
// Numbers depend on the machine (headless, --disable-gpu: software rendering); they are a figure
// for BENCHMARKS.md, not an assertion.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./harness.mjs";
import { build } from "vite";

const DASHBOARD = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = resolve(DASHBOARD, "../examples/personas");

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const STATES = Number(opt("states", 200));
const RUNS = Number(opt("runs", 3));
const SHOTS = opt("shots", null);

// ---- the page
const dir = mkdtempSync(join(tmpdir(), "foil-graph-bench-"));
symlinkSync(join(DASHBOARD, "node_modules"), join(dir, "node_modules"), "dir");
writeFileSync(
  join(dir, "index.html"),
  `<!doctype html><html><head><meta charset="utf-8"><title>graph bench</title><link rel="icon" href="data:,">
<style>html,body{margin:0;font-family:system-ui,sans-serif}#root{height:100vh;display:flex;padding:12px;box-sizing:border-box}</style>
</head><body><div id="root"></div><script type="module" src="./main.tsx"></script></body></html>`,
);
const examples = {};
for (const f of readdirSync(EXAMPLES)) if (f.endsWith(".json")) examples[f.replace(/\.json$/, "")] = JSON.parse(readFileSync(join(EXAMPLES, f), "utf8"));
writeFileSync(join(dir, "examples.json"), JSON.stringify(examples));
writeFileSync(
  join(dir, "main.tsx"),
  `
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { MachineGraph, LinksGraph } from ${JSON.stringify(join(DASHBOARD, "src/graph/index.ts"))};
import examples from "./examples.json";

const T0 = performance.now();
const q = new URLSearchParams(location.search);

function bigMachine(n) {
  // Ranks of 10 states: each state passes to the next rank (two targets), redirects to itself
  // every third state, and rejects back to the first state now and then: ~2 transitions per state.
  const states = [], transitions = [];
  for (let i = 0; i < n; i++) {
    states.push({ state_key: "S" + i, label: "State number " + i, prompt_instruction: "Say something about " + i,
      is_initial_state: i === 0, is_terminal_state: i >= n - 10, follow_up_condition: i % 7 === 0 ? "the player is vague" : null });
  }
  for (let i = 0; i < n - 10; i++) {
    transitions.push({ from_state_key: "S" + i, to_state_key: "S" + (i + 10), decision_type: "pass", condition: "go on " + i, score_delta: 1, priority: 0 });
    if (i % 10 !== 9) transitions.push({ from_state_key: "S" + i, to_state_key: "S" + (i + 11), decision_type: "reject", condition: "rude " + i, score_delta: -1, priority: 1 });
    if (i % 3 === 0) transitions.push({ from_state_key: "S" + i, to_state_key: "S" + i, decision_type: "redirect", condition: "small talk", score_delta: 0, priority: 2 });
  }
  if (n === 0) return null;
  return { machine_key: "big", name: "Big", scoring_mode: "scoring", states, transitions };
}

// A few of the server's rules, so the demo page shows issues as the dashboard would (?validate=1).
function miniValidate(doc) {
  const out = [];
  doc.machines.forEach((m, i) => {
    if (m.states.filter((s) => s.is_initial_state).length !== 1) out.push({ path: \`machines[\${i}].states\`, message: "exactly one state must be initial" });
    m.states.forEach((s, j) => {
      if (!s.prompt_instruction.trim()) out.push({ path: \`machines[\${i}].states[\${j}].prompt_instruction\`, message: "the prompt instruction must not be empty" });
    });
    const keys = new Set(m.states.map((s) => s.state_key));
    m.transitions.forEach((t, k) => {
      if (!keys.has(t.to_state_key)) out.push({ path: \`machines[\${i}].transitions[\${k}].to_state_key\`, message: "there is no state with key " + JSON.stringify(t.to_state_key) });
      if (!t.condition.trim()) out.push({ path: \`machines[\${i}].transitions[\${k}].condition\`, message: "the condition must not be empty" });
    });
  });
  return out;
}

function App() {
  const persona = q.get("persona");
  const [doc, setDoc] = useState(() => {
    if (persona) return examples[persona];
    return { persona: { name: "Bench", identity_prompt: "x" }, machines: [bigMachine(Number(q.get("states") || 200))], machine_links: [] };
  });
  const mi = Number(q.get("machine") || 0);
  const issues = q.get("issues") ? JSON.parse(q.get("issues")) : q.get("validate") ? miniValidate(doc) : [];
  window.__doc = doc;
  if (q.get("view") === "links") {
    return <div style={{ flex: 1, display: "flex" }}><LinksGraph document={doc} issues={issues} onChange={setDoc} /></div>;
  }
  return (
    <div style={{ flex: 1, display: "flex" }}>
      <MachineGraph
        machine={doc.machines[mi]}
        machineIndex={mi}
        issues={issues}
        activeStateKey={q.get("active")}
        onChange={(m) => setDoc((d) => ({ ...d, machines: d.machines.map((x, i) => (i === mi ? m : x)) }))}
      />
    </div>
  );
}

window.__t0 = T0;
window.__ready = new Promise((resolve) => {
  let stable = 0, last = -1;
  const tick = () => {
    const nodes = [...document.querySelectorAll(".react-flow__node")];
    const pane = document.querySelector(".react-flow__viewport");
    const measured = nodes.length > 0 && nodes.every((n) => getComputedStyle(n).visibility !== "hidden");
    const fitted = pane && pane.style.transform && !pane.style.transform.includes("scale(1)");
    if (measured && fitted && nodes.length === last) stable++;
    else stable = 0;
    last = nodes.length;
    // Two identical frames in a row: rendered, measured, fitted; the first of them is the time.
    if (stable >= 2) resolve({ ms: window.__firstStable - T0, nodes: nodes.length, edges: document.querySelectorAll(".react-flow__edge").length });
    else { if (stable === 1) window.__firstStable = performance.now(); requestAnimationFrame(tick); }
  };
  requestAnimationFrame(tick);
});
createRoot(document.getElementById("root")).render(<StrictMode><App /></StrictMode>);
`,
);

await build({
  root: dir,
  logLevel: "warn",
  esbuild: { jsx: "automatic" },
  build: { outDir: join(dir, "dist"), emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 5000 },
});

// ---- static server
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const file = join(dir, "dist", path === "/" ? "index.html" : path);
  if (!existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const BASE = `http://127.0.0.1:${server.address().port}/`;

// ---- browser
const browser = await launchChromium();
const problems = [];
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url);
  const ready = await Promise.race([
    page.evaluate(() => window.__ready),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${url}: the graph did not render within 60 s`)), 60_000)),
  ]);
  return { page, ready };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const round = (x) => Math.round(x * 10) / 10;

const runs = [];
for (let r = 0; r < RUNS; r++) {
  const { page, ready } = await open(`${BASE}?states=${STATES}`);
  // Drag a node in the middle of the view by its label (not its handles).
  const box = await page.evaluate(() => {
    const vw = innerWidth / 2, vh = innerHeight / 2;
    let best = null, bestD = Infinity;
    for (const n of document.querySelectorAll(".react-flow__node")) {
      const b = n.getBoundingClientRect();
      const x = b.x + b.width / 2, y = b.y + b.height / 2;
      const d = Math.hypot(x - vw, y - vh);
      // Only a node whose centre is not covered by an edge label or another node.
      if (d < bestD && n.contains(document.elementFromPoint(x, y))) { bestD = d; best = { id: n.dataset.id, x, y }; }
    }
    return best;
  });
  const key = box.id.replace(/^state:/, "");
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    window.__recording = true;
    const loop = (t) => { window.__frames.push(t - last); last = t; if (window.__recording) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  });
  await page.mouse.move(box.x, box.y);
  await page.mouse.down();
  for (let i = 1; i <= 30; i++) {
    await page.mouse.move(box.x + i * 6, box.y + i * 3);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  }
  const frames = await page.evaluate(() => { window.__recording = false; return window.__frames.slice(1); });
  const tUp = await page.evaluate(() => performance.now());
  await page.mouse.up();
  const drop = await page.evaluate(async ({ key, tUp }) => {
    for (const start = performance.now(); ; ) {
      const s = window.__doc.machines[0].states.find((x) => x.state_key === key);
      if (s && s.position) break;
      if (performance.now() - start > 10000) return NaN; // the drag did not move the node
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now() - tUp;
  }, { key, tUp });
  // The node really moved with the mouse (30 steps of (6, 3) px on screen).
  const after = await page.evaluate((id) => {
    const b = document.querySelector(`.react-flow__node[data-id="${id}"]`).getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  }, box.id);
  const moved = { dx: Math.round(after.x - box.x), dy: Math.round(after.y - box.y) };
  if (Math.abs(moved.dx - 180) > 10 || Math.abs(moved.dy - 90) > 10) problems.push(`the dragged node moved by ${JSON.stringify(moved)}, not (180, 90)`);
  const sorted = [...frames].sort((a, b) => a - b);
  runs.push({
    render_ms: round(ready.ms),
    nodes_rendered: ready.nodes,
    edges_rendered: ready.edges,
    drag_frame_mean_ms: round(frames.reduce((a, b) => a + b, 0) / frames.length),
    drag_frame_p95_ms: round(sorted[Math.floor(sorted.length * 0.95)]),
    drag_frame_max_ms: round(sorted.at(-1)),
    drop_ms: round(drop),
    moved_px: moved,
  });
  await page.close();
}

if (SHOTS) {
  mkdirSync(SHOTS, { recursive: true });
  for (const name of Object.keys(examples)) {
    const n = examples[name].machines.length;
    for (let i = 0; i < n; i++) {
      const { page } = await open(`${BASE}?persona=${name}&machine=${i}`);
      await page.screenshot({ path: join(SHOTS, `${name}-${i}.png`) });
      await page.close();
    }
  }
  const { page } = await open(`${BASE}?states=${STATES}`);
  await page.screenshot({ path: join(SHOTS, `big-${STATES}.png`) });
  await page.close();
}

await browser.close();
server.close();
if (!args.includes("--keep")) rmSync(dir, { recursive: true, force: true });
const summary = {
  states: STATES,
  transitions: (() => { let t = 0; for (let i = 0; i < STATES - 10; i++) t += 1 + (i % 10 !== 9 ? 1 : 0) + (i % 3 === 0 ? 1 : 0); return t; })(),
  runs,
  median: {
    render_ms: median(runs.map((r) => r.render_ms)),
    drag_frame_mean_ms: median(runs.map((r) => r.drag_frame_mean_ms)),
    drag_frame_p95_ms: median(runs.map((r) => r.drag_frame_p95_ms)),
    drop_ms: median(runs.map((r) => r.drop_ms)),
  },
  console_problems: problems,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(problems.length ? 1 : 0);

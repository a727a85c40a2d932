// The WebGL transport in a real browser — Debian's Chromium driven by playwright-core (the
// dashboard's dev dependency; never a downloaded browser) — as a WebGL game's page uses it:
// served from its own origin, calling a foil-server on another origin through CORS, reading a
// streamed reply through fetch's ReadableStream. Run by foil-ffi-tests/tests/unity_mono.rs with
// FOIL_BASE_URL, FOIL_API_KEY, FOIL_PERSONA_ID and FOIL_PAGE_PORT (the one origin the server's
// FOIL_CORS_ORIGINS allows: http://127.0.0.1:FOIL_PAGE_PORT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');
const { chromium } = createRequire(join(repo, 'dashboard', 'package.json'))('playwright-core');
const JSLIB = readFileSync(join(here, '..', '..', 'Plugins', 'WebGL', 'FoilEngine.jslib'), 'utf8');

const env = (name) => {
  assert.ok(process.env[name], `${name} must be set`);
  return process.env[name];
};

// The page links the .jslib as Emscripten does (mergeInto into LibraryManager.library, `$`
// dependencies as globals) and exposes its entry point's JSON call.
const PAGE = `<!doctype html><meta charset="utf-8"><title>Foil WebGL transport</title>
<script>
  var LibraryManager = { library: {} };
  function mergeInto(target, added) { for (var k in added) target[k] = added[k]; }
</script>
<script src="/FoilEngine.jslib"></script>
<script>
  var FoilWeb = LibraryManager.library.$FoilWeb;
  window.foilCall = function (request) { return JSON.parse(FoilWeb.call(JSON.stringify(request))); };
</script>`;

function servePage(port) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      if (req.url === '/FoilEngine.jslib') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        res.end(JSLIB);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(PAGE);
      }
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

let browser;
const servers = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.FOIL_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

/** A conversation run inside the page: init, then one streamed turn; every event polled. */
async function converse(origin) {
  const page = await browser.newPage();
  try {
    await page.goto(origin);
    return await page.evaluate(async ({ base, key, persona }) => {
      const client = window.foilCall({ fn: 'create', config: {
        base_url: base, api_key: key, timeout_ms: 10000, stream_timeout_ms: 30000, max_retries: 0, persona_cache_ttl_ms: 1,
      } }).ok;
      const events = [];
      const run = async (op, args) => {
        const id = window.foilCall({ fn: 'start', client, op, args }).ok;
        for (let frame = 0; frame < 3000; frame++) {
          await new Promise((r) => requestAnimationFrame(r));
          const batch = window.foilCall({ fn: 'poll', client }).ok;
          events.push(...batch);
          if (batch.some((e) => e.id === id && [1, 4, 5].includes(e.kind))) return;
        }
        throw new Error(`${op} did not finish`);
      };
      const player = `browser-${Date.now()}`;
      await run('init_session', [persona, player, 'Alex', 'non-binary', null]);
      if (events[0].kind === 5) return events;
      await run('send_message_stream', [persona, player, "Morning! What's good here today?", null]);
      window.foilCall({ fn: 'free', client });
      return events;
    }, { base: env('FOIL_BASE_URL'), key: env('FOIL_API_KEY'), persona: env('FOIL_PERSONA_ID') });
  } finally {
    await page.close();
  }
}

test('a streamed reply reaches a page on an allowed origin, piece by piece', async () => {
  servers.push(await servePage(Number(env('FOIL_PAGE_PORT'))));
  const events = await converse(`http://127.0.0.1:${env('FOIL_PAGE_PORT')}/`);
  assert.equal(events[0].kind, 1, `init answered: ${JSON.stringify(events[0])}`);
  const stream = events.slice(1);
  assert.equal(stream[0].kind, 2, 'metadata first');
  const done = stream.findIndex((e) => e.kind === 4);
  assert.ok(done > 0, `a STREAM_DONE: ${JSON.stringify(stream.map((e) => e.kind))}`);
  const deltas = stream.slice(0, done).filter((e) => e.kind === 3).map((e) => e.payload);
  assert.ok(deltas.length >= 1, 'text pieces');
  assert.equal(deltas.join(''), JSON.parse(stream[done].payload).message, 'the pieces make the reply');
});

test('a page on an origin the server does not allow is refused by the browser', async () => {
  const other = await servePage(0);
  servers.push(other);
  const events = await converse(`http://127.0.0.1:${other.address().port}/`);
  assert.equal(events.length, 1);
  assert.equal(events[0].kind, 5, 'an ERROR');
  const error = JSON.parse(events[0].payload);
  assert.equal(error.status, 0);
  assert.equal(error.code, 'transport_error', JSON.stringify(error));
});

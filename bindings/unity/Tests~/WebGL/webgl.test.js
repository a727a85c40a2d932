// The WebGL transport (Plugins/WebGL/FoilEngine.jslib) in Node, loaded as Emscripten links it
// (host.js), against a real foil-server (FOIL_BASE_URL, FOIL_API_KEY, FOIL_PERSONA_ID) and
// against small loopback servers that misbehave on purpose. The C# over this transport runs in
// the Mono suite (FoilNativeTests.cs compiled with UNITY_WEBGL); this file pins what only the
// JavaScript decides: its syntax, the C entry point, SSE parsing, retries, timeouts,
// cancellation and freeing. Run by foil-ffi-tests/tests/unity_mono.rs:
//   FOIL_BASE_URL=... FOIL_API_KEY=... FOIL_PERSONA_ID=... node --test bindings/unity/Tests~/WebGL/webgl.test.js
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { load } = require('./host');

const { FoilWeb, call, heap, source } = load();
const KIND = FoilWeb.KIND;

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set`);
  return value;
};

const ok = (request) => {
  const answer = JSON.parse(call(JSON.stringify(request)));
  assert.ok('ok' in answer, `refused: ${JSON.stringify(answer)}`);
  return answer.ok;
};

const refusal = (request) => {
  const answer = JSON.parse(call(JSON.stringify(request)));
  assert.ok(answer.error, `accepted: ${JSON.stringify(answer)}`);
  return answer.error;
};

const config = (overrides) => Object.assign({
  base_url: process.env.FOIL_BASE_URL,
  api_key: process.env.FOIL_API_KEY,
  timeout_ms: 10000,
  stream_timeout_ms: 30000,
  max_retries: 0,
  persona_cache_ttl_ms: 1,
}, overrides);

const create = (overrides) => ok({ fn: 'create', config: config(overrides) });
const start = (client, op, args) => ok({ fn: 'start', client, op, args });
const poll = (client) => ok({ fn: 'poll', client });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (as a game's frames would) until `request` has its finishing event; all its events. */
async function finished(client, request, timeoutMs = 15000) {
  const events = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const event of poll(client)) {
      if (event.id === request) events.push(event);
    }
    const finishing = events.filter((e) => [KIND.RESPONSE, KIND.STREAM_DONE, KIND.ERROR].includes(e.kind));
    if (finishing.length > 0) {
      assert.equal(finishing.length, 1, 'exactly one finishing event');
      // Game events follow in the same batch; take one more frame to be sure nothing else comes.
      await sleep(20);
      for (const event of poll(client)) {
        if (event.id === request) events.push(event);
      }
      return events;
    }
    assert.ok(Date.now() < deadline, `request ${request} did not finish in time`);
    await sleep(5);
  }
}

/** A loopback server whose handler decides everything; resolves to {url, hits, close}. */
function misbehaving(handler) {
  return new Promise((resolve) => {
    const hits = [];
    const server = http.createServer((req, res) => {
      hits.push(req);
      handler(req, res, hits.length);
    });
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        hits,
        close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); },
      });
    });
  });
}

test('the jslib is ES5, links as Emscripten links it, and frees what it allocates', () => {
  // Strings, regular-expression literals and comments out, then no ES2015+ syntax.
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/\/(?:[^/\\\n]|\\.)+\/[gimsuy]*/g, '/re/');
  for (const [what, pattern] of [
    ['arrow functions', /=>/], ['template literals', /`/], ['let/const', /\b(let|const)\s/],
    ['classes', /\bclass\s/], ['async functions', /\basync\s|\bawait\s/], ['spread', /\.\.\./],
  ]) {
    assert.doesNotMatch(code, pattern, `the jslib uses ${what}`);
  }
  const client = create({});
  assert.ok(Number.isInteger(client) && client > 0);
  ok({ fn: 'free', client });
  assert.equal(heap.live.size, 0, 'every buffer the entry point returned was freed by its caller');
  // Unknown calls and malformed requests are refusals, not exceptions thrown into the player.
  assert.equal(refusal({ fn: 'explode' }).kind, 'argument');
  assert.equal(JSON.parse(call('{not json')).error.kind, 'internal');
  assert.equal(refusal({ fn: 'start', client: 999999, op: 'list_personas', args: [] }).kind, 'disposed');
});

test('arguments are checked as the native library checks them', () => {
  const persona = env('FOIL_PERSONA_ID');
  const client = create({});
  const bad = (op, args, name) => {
    const error = refusal({ fn: 'start', client, op, args });
    assert.equal(error.kind, 'argument');
    assert.match(error.message, new RegExp(name), error.message);
  };
  bad('send_message', ['not-a-uuid', 'p1', 'hi', null], 'persona_id: must be a UUID');
  bad('send_message', [persona, ' ', 'hi', null], 'user_session_id must not be empty');
  bad('send_message', [persona, 'p1', 'x'.repeat(2001), null], 'message must be at most 2000 characters');
  bad('send_message', [persona, 'p1', 'hi', 'not-a-uuid'], 'machine_id');
  bad('init_session', [persona, 'p1', 'Alex', '', null], 'player_gender must not be empty');
  bad('get_session', [persona, 'x'.repeat(64 * 1024 + 1), null], 'user_session_id must be at most 65536 bytes');
  bad('teleport', [], 'unknown operation');
  // 2,000 characters counted as characters: astral ones (two UTF-16 units) count once.
  assert.ok(start(client, 'send_message', [persona, 'p1', '\u{1F600}'.repeat(2000), null]) > 0);
  assert.ok(start(client, 'send_message', [persona, 'p1', 'é'.repeat(2000), '   ']) > 0, 'a blank machine id is left out');
  // Credentials and settings.
  const key = refusal({ fn: 'set_api_key', client, api_key: 'pt_a\r\nX-Injected: 1' });
  assert.match(key.message, /api_key: contains characters not allowed in a header/);
  assert.match(refusal({ fn: 'create', config: config({ base_url: 'ftp://example.com' }) }).message, /base_url/);
  assert.match(refusal({ fn: 'create', config: config({ base_url: 'http://h/?q=1' }) }).message, /base_url/);
  assert.match(refusal({ fn: 'create', config: config({ api_key: '  ' }) }).message, /api_key must not be empty/);
  assert.match(refusal({ fn: 'create', config: config({ llm_api_key: 'sk-\u00e9' }) }).message, /llm_api_key/);
  ok({ fn: 'free', client });
});

test('text/event-stream is parsed across any chunking', () => {
  const body = ': keep-alive\r\n\r\nevent: metadata\r\ndata: {"a":1}\r\n\r\n'
    + 'event: text_delta\ndata: {"text":"caf\u00e9 "}\n\n'
    + 'event: text_delta\rdata: {"text":\rdata: "two\\nlines"}\r\r'
    + 'event: done\ndata:{"b":2}\n\n';
  const bytes = new TextEncoder().encode(body);
  const expected = [
    { event: 'metadata', data: '{"a":1}' },
    { event: 'text_delta', data: '{"text":"caf\u00e9 "}' },
    { event: 'text_delta', data: '{"text":\n"two\\nlines"}' },
    { event: 'done', data: '{"b":2}' },
  ];
  for (let size = 1; size <= bytes.length; size++) {
    const parser = FoilWeb.sseParser();
    const events = [];
    for (let at = 0; at < bytes.length; at += size) {
      events.push(...parser.push(bytes.subarray(at, at + size)));
    }
    events.push(...parser.end());
    assert.deepEqual(events, expected, `chunks of ${size} bytes`);
  }
});

test('a conversation over the real server: streamed reply, one finishing event, game events after it', async () => {
  const persona = env('FOIL_PERSONA_ID');
  const client = create({});
  const player = `webgl-${process.pid}-${Date.now()}`;
  const init = await finished(client, start(client, 'init_session', [persona, player, 'Zoë', 'non-binary', null]));
  assert.equal(init[0].kind, KIND.RESPONSE, init[0].payload);
  const sessionId = JSON.parse(init[0].payload).session_id;
  const status = await finished(client, start(client, 'get_session', [persona, player, null]));
  assert.equal(status[0].kind, KIND.RESPONSE);

  const events = await finished(client, start(client, 'send_message_stream', [persona, player, "Morning! What's good here today?", null]));
  const kinds = events.map((e) => e.kind);
  assert.equal(kinds[0], KIND.STREAM_METADATA, 'metadata first');
  const done = kinds.indexOf(KIND.STREAM_DONE);
  assert.ok(done > 0, `a STREAM_DONE: ${kinds}`);
  const deltas = events.filter((e) => e.kind === KIND.TEXT_DELTA);
  assert.ok(deltas.length >= 1, 'text arrives in pieces');
  assert.ok(kinds.slice(0, done).every((k) => k === KIND.STREAM_METADATA || k === KIND.TEXT_DELTA), 'only pieces before the end');
  assert.ok(kinds.slice(done + 1).every((k) => k >= KIND.STATE_CHANGE), 'only game events after the end');
  const response = JSON.parse(events[done].payload);
  assert.equal(deltas.map((e) => e.payload).join(''), response.message, 'the pieces make the reply');
  assert.equal(response.session_id, sessionId);
  const metadata = JSON.parse(events[0].payload);
  assert.equal(metadata.current_state, response.current_state);

  const history = await finished(client, start(client, 'get_history', [persona, player, null]));
  const messages = JSON.parse(history[0].payload).messages;
  assert.equal(messages[messages.length - 1].content, response.message, 'the streamed turn was stored');

  const missing = await finished(client, start(client, 'get_session', [persona, `${player}-nobody`, null]));
  assert.equal(missing[0].kind, KIND.ERROR);
  const error = JSON.parse(missing[0].payload);
  assert.equal(error.status, 404);
  assert.equal(missing[0].status, 404);
  assert.ok(error.code && error.message, JSON.stringify(error));
  ok({ fn: 'free', client });
});

test('retries: Retry-After is honoured, a long one is not waited for, streams are never retried', async () => {
  const server = await misbehaving((req, res, n) => {
    if (req.url.endsWith('/personas')) {
      if (n === 1) {
        res.writeHead(503, { 'Retry-After': '0', 'Content-Type': 'application/json' });
        res.end('{"error":{"message":"warming up","code":"database_unavailable"}}');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('[]');
      }
    } else {
      res.writeHead(429, { 'Retry-After': '120', 'Content-Type': 'application/json' });
      res.end('{"error":"Rate limit exceeded. Try again in 120 seconds."}');
    }
  });
  try {
    const client = create({ base_url: server.url, max_retries: 3 });
    const listed = await finished(client, start(client, 'list_personas', []));
    assert.equal(listed[0].kind, KIND.RESPONSE);
    assert.equal(listed[0].payload, '[]');
    assert.equal(server.hits.length, 2, 'one retry after the 503');
    assert.equal(server.hits[0].headers['x-api-key'], process.env.FOIL_API_KEY);

    const limited = await finished(client, start(client, 'validate_llm_key', [null]));
    assert.deepEqual(JSON.parse(limited[0].payload), {
      status: 429, code: 'rate_limited', message: 'Rate limit exceeded. Try again in 120 seconds.', retry_after: 120,
    });
    assert.equal(server.hits.length, 3, 'a Retry-After over 60 s is returned, not waited for');

    const streamed = await finished(client, start(client, 'send_message_stream', [env('FOIL_PERSONA_ID'), 'p1', 'hi', null]));
    assert.equal(JSON.parse(streamed[0].payload).status, 429);
    assert.equal(server.hits.length, 4, 'a stream is sent once');
    ok({ fn: 'free', client });
  } finally {
    await server.close();
  }
});

test('timeouts, cancellation and free end requests at once and close their connections', async () => {
  const closed = [];
  const server = await misbehaving((req, res) => {
    req.socket.on('close', () => closed.push(req.url));
    if (req.url.includes('/message/stream')) {
      // A stream that starts and then says nothing more.
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('event: metadata\ndata: {"current_state":"s"}\n\n');
    }
    // Everything else: never answered.
  });
  try {
    const persona = env('FOIL_PERSONA_ID');
    const slow = create({ base_url: server.url, timeout_ms: 150 });
    const timedOut = await finished(slow, start(slow, 'list_personas', []));
    assert.deepEqual(JSON.parse(timedOut[0].payload), { status: 0, code: 'timeout', message: 'the request timed out', retry_after: null });

    const client = create({ base_url: server.url });
    const stream = start(client, 'send_message_stream', [persona, 'p1', 'hi', null]);
    for (let i = 0; i < 200 && poll(client).length === 0; i++) await sleep(5);
    assert.equal(ok({ fn: 'cancel', client, id: stream }), true);
    const events = poll(client);
    assert.deepEqual(events.map((e) => [e.id, e.kind]), [[stream, KIND.ERROR]], 'the ERROR is queued by the cancel itself');
    assert.equal(JSON.parse(events[0].payload).code, 'cancelled');
    assert.equal(ok({ fn: 'cancel', client, id: stream }), false, 'a finished request cannot be cancelled');

    const pending = start(client, 'get_history', [persona, 'p1', null]);
    await sleep(50);
    ok({ fn: 'free', client });
    ok({ fn: 'free', client }); // twice is fine
    assert.deepEqual(poll(client), [], 'nothing is delivered after free');
    assert.equal(refusal({ fn: 'start', client, op: 'list_personas', args: [] }).kind, 'disposed');
    for (let i = 0; i < 200 && closed.length < 3; i++) await sleep(5);
    assert.ok(closed.some((url) => url.includes('/message/stream')), 'the cancelled stream was closed');
    assert.ok(closed.some((url) => url.includes('/history')), `the freed request was closed: ${closed}, request ${pending}`);
    ok({ fn: 'free', client: slow });
  } finally {
    await server.close();
  }
});

test("a player token's CREDENTIAL_EXPIRING comes min(60 s, lifetime / 10) early, once per token", async () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const token = (exp, iat) => `pt_${b64({ alg: 'HS256' })}.${b64({ exp, iat })}.sig`;
  // Issued 9 s ago, expires in 1 s: lifetime 10 s, so it is due now (1 s early).
  const client = create({ api_key: token(now + 1, now - 9) });
  await sleep(30);
  const due = poll(client);
  assert.deepEqual(due, [{ id: 0, kind: KIND.CREDENTIAL_EXPIRING, status: 0, payload: `{"expires_at":${now + 1}}` }]);
  // A fresh hour-long token: due in 59 minutes, so nothing now; an API key: never.
  ok({ fn: 'set_api_key', client, api_key: token(now + 3600, now) });
  ok({ fn: 'set_api_key', client, api_key: 'pk_live_0000' });
  await sleep(50);
  assert.deepEqual(poll(client), []);
  assert.equal(FoilWeb.claims('pk_live_x.y.z'), null);
  assert.equal(FoilWeb.claims(`pt_${b64({})}.${b64({ iat: now })}.s`), null, 'no exp, no expiry');
  ok({ fn: 'free', client });
});

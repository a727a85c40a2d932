// Foil Engine's transport for Unity WebGL players: the browser's fetch (streamed replies
// through a ReadableStream) behind the same request/event model as the native plugin, so
// FoilEngineClient's C# is the same on every platform (docs/unity.md, "WebGL").
//
// C# makes one kind of call, FoilWeb_Call(requestJson) -> responseJson, with requests
//   {"fn":"create","config":{...}}            -> {"ok":clientHandle}
//   {"fn":"start","client":h,"op":"send_message","args":[...]} -> {"ok":requestId}
//   {"fn":"poll","client":h}                   -> {"ok":[{"id","kind","status","payload"}, ...]}
//   {"fn":"cancel","client":h,"id":n}          -> {"ok":true|false}
//   {"fn":"set_api_key","client":h,"api_key":s} -> {"ok":true}
//   {"fn":"free","client":h}                   -> {"ok":true}
// and refusals as {"error":{"kind":"argument"|"disposed","message":...}}. Events are queued
// here as responses arrive (between frames: WebGL has one thread) and handed over by "poll",
// once per frame; nothing calls into C#, so nothing needs IL2CPP callbacks.
//
// Behaviour mirrors foil-client (Rust): the same argument checks and messages, retries of
// 429/5xx/transport failures with Retry-After (at most 60 s) or jittered backoff, never for
// streams; the same event kinds and payloads (include/foil.h); exactly one finishing event per
// request; game events derived per session as foil_client::events::SessionTracker does; a
// player token's CREDENTIAL_EXPIRING min(60 s, lifetime / 10) before it expires.
//
// Written in ES5 (no arrow functions, let/const, classes, template literals or async) so that
// every Unity version's Emscripten toolchain accepts it. Tested in Node against a real
// foil-server: bindings/unity/Tests~/WebGL (run by foil-ffi-tests/tests/unity_webgl.rs).

var FoilEngineWebGL = {
  $FoilWeb: {
    version: '0.1.0',
    clients: {},
    nextClient: 1,

    KIND: {
      RESPONSE: 1, STREAM_METADATA: 2, TEXT_DELTA: 3, STREAM_DONE: 4, ERROR: 5,
      STATE_CHANGE: 10, SCORE_CHANGE: 11, MACHINE_COMPLETED: 12, MACHINES_UNLOCKED: 13,
      SESSION_ENDED: 14, CREDENTIAL_EXPIRING: 20
    },
    RETRY_STATUSES: [429, 500, 502, 503, 504],
    MAX_RETRY_AFTER_SECS: 60,
    MAX_STRING_BYTES: 64 * 1024,
    MAX_MESSAGE_CHARS: 2000,
    MAX_REFRESH_MARGIN_MS: 60000,
    LLM_HEADERS: [
      ['llm_api_key', 'X-LLM-API-Key'], ['llm_model', 'X-LLM-Model'],
      ['llm_eval_model', 'X-LLM-Eval-Model'], ['llm_response_model', 'X-LLM-Response-Model'],
      ['llm_summarization_model', 'X-LLM-Summarization-Model'],
      ['llm_eval_api_key', 'X-LLM-Eval-API-Key'], ['llm_response_api_key', 'X-LLM-Response-API-Key'],
      ['llm_summarization_api_key', 'X-LLM-Summarization-API-Key']
    ],

    // ---- The one entry point ----

    call: function (requestJson) {
      try {
        var request = JSON.parse(requestJson);
        var handler = FoilWeb.calls[request.fn];
        if (!handler) {
          throw FoilWeb.refusal('argument', 'unknown call ' + request.fn);
        }
        return JSON.stringify({ ok: handler(request) });
      } catch (e) {
        if (e && e.foilRefusal) {
          return JSON.stringify({ error: { kind: e.kind, message: e.message } });
        }
        return JSON.stringify({ error: { kind: 'internal', message: String(e && e.stack || e) } });
      }
    },

    calls: {
      create: function (request) { return FoilWeb.create(request.config || {}); },
      start: function (request) { return FoilWeb.start(FoilWeb.client(request.client), request.op, request.args || []); },
      poll: function (request) {
        var client = FoilWeb.clients[request.client];
        if (!client) { return []; }
        var events = client.queue;
        client.queue = [];
        return events;
      },
      cancel: function (request) { return FoilWeb.cancel(FoilWeb.client(request.client), request.id); },
      set_api_key: function (request) { FoilWeb.setApiKey(FoilWeb.client(request.client), request.api_key); return true; },
      free: function (request) {
        var client = FoilWeb.clients[request.client];
        if (client) { FoilWeb.free(client); }
        return true;
      }
    },

    refusal: function (kind, message) {
      return { foilRefusal: true, kind: kind, message: message };
    },

    client: function (handle) {
      var client = FoilWeb.clients[handle];
      if (!client) { throw FoilWeb.refusal('disposed', 'the client was freed'); }
      return client;
    },

    // ---- Argument checks (foil-client/src/validate.rs: same rules, same messages) ----

    utf8Length: function (text) {
      return unescape(encodeURIComponent(text)).length;
    },
    charCount: function (text) {
      // Unicode scalar values, as Rust's chars().count() (a surrogate pair is one).
      var n = 0;
      for (var i = 0; i < text.length; i++) {
        var c = text.charCodeAt(i);
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < text.length) {
          var d = text.charCodeAt(i + 1);
          if (d >= 0xDC00 && d <= 0xDFFF) { i++; }
        }
        n++;
      }
      return n;
    },
    argument: function (name, message) {
      return FoilWeb.refusal('argument', 'invalid argument: ' + name + message);
    },
    optional: function (name, value) {
      if (value === null || value === undefined) { return null; }
      if (typeof value !== 'string') { throw FoilWeb.argument(name, ': must be a string'); }
      if (FoilWeb.utf8Length(value) > FoilWeb.MAX_STRING_BYTES) {
        throw FoilWeb.argument(name, ' must be at most ' + FoilWeb.MAX_STRING_BYTES + ' bytes long');
      }
      var trimmed = value.trim();
      return trimmed === '' ? null : trimmed;
    },
    required: function (name, value) {
      var trimmed = FoilWeb.optional(name, value);
      if (trimmed === null) { throw FoilWeb.argument(name, ' must not be empty'); }
      return value;
    },
    id: function (name, value) {
      var trimmed = FoilWeb.required(name, value).trim();
      if (!/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(trimmed)) {
        throw FoilWeb.argument(name, ': must be a UUID');
      }
      return trimmed;
    },
    optionalId: function (name, value) {
      return FoilWeb.optional(name, value) === null ? null : FoilWeb.id(name, value);
    },
    message: function (value) {
      FoilWeb.required('message', value);
      if (FoilWeb.charCount(value) > FoilWeb.MAX_MESSAGE_CHARS) {
        throw FoilWeb.argument('message', ' must be at most ' + FoilWeb.MAX_MESSAGE_CHARS + ' characters long');
      }
      return value;
    },
    headerValue: function (name, value) {
      var trimmed = value.trim();
      // What an HTTP header may hold: visible ASCII, space and tab (as Rust's HeaderValue).
      if (!/^[\t\x20-\x7e]*$/.test(trimmed)) {
        throw FoilWeb.argument(name, ': contains characters not allowed in a header');
      }
      return trimmed;
    },
    apiKey: function (value) {
      return FoilWeb.headerValue('api_key', FoilWeb.required('api_key', value));
    },

    // ---- Clients ----

    create: function (config) {
      var base = FoilWeb.required('base_url', config.base_url).trim().replace(/\/+$/, '');
      if (!/^https?:\/\/[^\/?#\s]+(\/[^?#\s]*)?$/i.test(base)) {
        throw FoilWeb.argument('base_url', ': must be an http:// or https:// URL without a query or fragment');
      }
      var headers = {};
      for (var i = 0; i < FoilWeb.LLM_HEADERS.length; i++) {
        var value = FoilWeb.optional(FoilWeb.LLM_HEADERS[i][0], config[FoilWeb.LLM_HEADERS[i][0]]);
        if (value !== null) {
          headers[FoilWeb.LLM_HEADERS[i][1]] = FoilWeb.headerValue(FoilWeb.LLM_HEADERS[i][0], value);
        }
      }
      var positive = function (name, ms) {
        if (typeof ms !== 'number' || !(ms > 0)) { throw FoilWeb.argument(name, ': must be positive'); }
        return ms;
      };
      var client = {
        handle: FoilWeb.nextClient++,
        base: base,
        apiKey: FoilWeb.apiKey(config.api_key),
        headers: headers,
        timeoutMs: positive('timeout_ms', config.timeout_ms),
        streamTimeoutMs: positive('stream_timeout_ms', config.stream_timeout_ms),
        maxRetries: Math.max(0, config.max_retries | 0),
        personaCacheTtlMs: Math.max(0, config.persona_cache_ttl_ms || 0),
        personaCache: null,
        nextRequest: 1,
        inFlight: {},
        queue: [],
        sessions: {},
        credentialTimer: null,
        freed: false
      };
      FoilWeb.clients[client.handle] = client;
      FoilWeb.watchCredential(client);
      return client.handle;
    },

    setApiKey: function (client, apiKey) {
      client.apiKey = FoilWeb.apiKey(apiKey);
      client.personaCache = null;
      FoilWeb.watchCredential(client);
    },

    free: function (client) {
      client.freed = true;
      delete FoilWeb.clients[client.handle];
      if (client.credentialTimer !== null) { clearTimeout(client.credentialTimer); }
      for (var id in client.inFlight) {
        if (Object.prototype.hasOwnProperty.call(client.inFlight, id)) {
          client.inFlight[id].abort();
        }
      }
      client.inFlight = {};
      client.queue = [];
    },

    // ---- Requests ----

    // op -> function(client, args) returning {prepare: () => fetch arguments, track, stream}
    ops: {
      list_personas: function () {
        return { path: ['personas'], method: 'GET', decode: 'personas' };
      },
      list_machines: function (a) {
        var persona = FoilWeb.id('persona_id', a[0]);
        FoilWeb.required('user_session_id', a[1]);
        return { path: ['chat', persona, 'machines'], method: 'GET', query: [['user_session_id', a[1]]] };
      },
      init_session: function (a) {
        var persona = FoilWeb.id('persona_id', a[0]);
        FoilWeb.required('user_session_id', a[1]);
        FoilWeb.required('player_name', a[2]);
        FoilWeb.required('player_gender', a[3]);
        var machine = FoilWeb.optionalId('machine_id', a[4]);
        return {
          path: ['chat', persona, 'init-session'], method: 'POST', machine: machine, track: 'restart',
          body: { user_session_id: a[1], player_name: a[2], player_gender: a[3] }
        };
      },
      send_message: function (a) {
        var persona = FoilWeb.id('persona_id', a[0]);
        FoilWeb.required('user_session_id', a[1]);
        FoilWeb.message(a[2]);
        var machine = FoilWeb.optionalId('machine_id', a[3]);
        return {
          path: ['chat', persona, 'message'], method: 'POST', machine: machine, track: 'turn',
          body: { message: a[2], user_session_id: a[1] }
        };
      },
      send_message_stream: function (a) {
        var request = FoilWeb.ops.send_message(a);
        request.path = ['chat', request.path[1], 'message', 'stream'];
        request.stream = true;
        return request;
      },
      get_session: function (a) { return FoilWeb.sessionCall(a, 'GET', 'session', 'status'); },
      get_history: function (a) { return FoilWeb.sessionCall(a, 'GET', 'history', 'status'); },
      reset_session: function (a) { return FoilWeb.sessionCall(a, 'POST', 'reset', 'restart'); },
      validate_llm_key: function (a) {
        return { path: ['validate-llm-key'], method: 'POST', body: { model: FoilWeb.optional('model', a[0]) } };
      }
    },

    sessionCall: function (a, method, leaf, track) {
      var persona = FoilWeb.id('persona_id', a[0]);
      FoilWeb.required('user_session_id', a[1]);
      var machine = FoilWeb.optionalId('machine_id', a[2]);
      var query = [['user_session_id', a[1]]];
      if (machine !== null) { query.push(['machine_id', machine]); }
      return { path: ['chat', persona, leaf], method: method, query: query, track: track };
    },

    url: function (client, spec) {
      var url = client.base + '/api/v1/sdk';
      for (var i = 0; i < spec.path.length; i++) { url += '/' + encodeURIComponent(spec.path[i]); }
      var query = (spec.query || []).slice();
      if (spec.machine && !spec.query) { query.push(['machine_id', spec.machine]); }
      for (var j = 0; j < query.length; j++) {
        url += (j === 0 ? '?' : '&') + encodeURIComponent(query[j][0]) + '=' + encodeURIComponent(query[j][1]);
      }
      return url;
    },

    start: function (client, op, args) {
      var make = FoilWeb.ops[op];
      if (!make) { throw FoilWeb.refusal('argument', 'unknown operation ' + op); }
      var spec = make(args);
      var id = client.nextRequest++;
      var request = { id: id, controller: null, timer: null, finished: false };
      request.abort = function () {
        if (request.timer !== null) { clearTimeout(request.timer); }
        if (request.controller) { request.controller.abort(); }
      };
      client.inFlight[id] = request;
      if (spec.stream) {
        FoilWeb.runStream(client, request, spec);
      } else if (op === 'list_personas' && FoilWeb.cachedPersonas(client) !== null) {
        var cached = FoilWeb.cachedPersonas(client);
        Promise.resolve().then(function () { FoilWeb.finishResponse(client, request, spec, cached); });
      } else {
        FoilWeb.runWithRetries(client, request, spec, 0);
      }
      return id;
    },

    cancel: function (client, id) {
      var request = client.inFlight[id];
      if (!request) { return false; }
      // Finished at once, as the native engine does; the fetch is aborted (for a stream the
      // server then rolls the turn back).
      FoilWeb.finishError(client, request, FoilWeb.error(0, 'cancelled', 'the request was cancelled', null));
      request.abort();
      return true;
    },

    cachedPersonas: function (client) {
      var cache = client.personaCache;
      if (cache && client.personaCacheTtlMs > 0 && Date.now() - cache.at < client.personaCacheTtlMs) {
        return cache.body;
      }
      return null;
    },

    // One fetch with its own timeout. Resolves to {response} or rejects with an error payload.
    fetchOnce: function (client, request, spec, timeoutMs, accept) {
      var controller = typeof AbortController !== 'undefined' ? new AbortController() : null;
      request.controller = controller;
      var timedOut = false;
      request.timer = setTimeout(function () {
        timedOut = true;
        if (controller) { controller.abort(); }
      }, timeoutMs);
      var headers = { 'X-API-Key': client.apiKey, 'Accept': accept };
      for (var name in client.headers) {
        if (Object.prototype.hasOwnProperty.call(client.headers, name)) { headers[name] = client.headers[name]; }
      }
      var init = { method: spec.method, headers: headers, signal: controller ? controller.signal : undefined };
      if (spec.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(spec.body);
      }
      return fetch(FoilWeb.url(client, spec), init).then(null, function (e) {
        throw timedOut
          ? FoilWeb.error(0, 'timeout', 'the request timed out', null)
          : FoilWeb.error(0, 'transport_error', 'error sending request: ' + (e && e.message || e), null);
      }).then(function (response) {
        return { response: response, timedOut: function () { return timedOut; } };
      });
    },

    // An ordinary request: the whole body, retried as foil-client retries.
    runWithRetries: function (client, request, spec, attempt) {
      if (request.finished) { return; }
      var retriesLeft = attempt < client.maxRetries;
      FoilWeb.fetchOnce(client, request, spec, client.timeoutMs, 'application/json').then(function (sent) {
        return sent.response.text().then(function (body) {
          clearTimeout(request.timer);
          if (!sent.response.ok) { throw FoilWeb.httpError(sent.response, body); }
          return body;
        }, function (e) {
          throw sent.timedOut()
            ? FoilWeb.error(0, 'timeout', 'the request timed out', null)
            : FoilWeb.error(0, 'transport_error', 'error reading the response: ' + (e && e.message || e), null);
        });
      }).then(function (body) {
        FoilWeb.finishResponse(client, request, spec, body);
      }, function (error) {
        clearTimeout(request.timer);
        if (request.finished) { return; }
        var wait = null;
        if (retriesLeft && error.status !== 0 && FoilWeb.RETRY_STATUSES.indexOf(error.status) >= 0) {
          if (error.retry_after !== null && error.retry_after > FoilWeb.MAX_RETRY_AFTER_SECS) {
            wait = null;
          } else {
            wait = error.retry_after !== null ? error.retry_after * 1000 : FoilWeb.backoff(attempt);
          }
        } else if (retriesLeft && (error.code === 'transport_error' || error.code === 'timeout')) {
          wait = FoilWeb.backoff(attempt);
        }
        if (wait === null) {
          FoilWeb.finishError(client, request, error);
          return;
        }
        request.timer = setTimeout(function () { FoilWeb.runWithRetries(client, request, spec, attempt + 1); }, wait);
      });
    },

    // 2^attempt × 0.5 × (0.5 + rand × 0.5) seconds, as foil-client.
    backoff: function (attempt) {
      return 500 * Math.pow(2, Math.min(attempt, 16)) * (0.5 + Math.random() * 0.5);
    },

    // A streamed reply: STREAM_METADATA, TEXT_DELTAs as they arrive, STREAM_DONE. Never retried.
    runStream: function (client, request, spec) {
      FoilWeb.fetchOnce(client, request, spec, client.streamTimeoutMs, 'text/event-stream').then(function (sent) {
        var response = sent.response;
        if (!response.ok) {
          return response.text().then(function (body) { throw FoilWeb.httpError(response, body); });
        }
        if (!response.body || !response.body.getReader) {
          throw FoilWeb.error(0, 'transport_error', 'this browser cannot stream responses (no ReadableStream)', null);
        }
        var reader = response.body.getReader();
        var parser = FoilWeb.sseParser();
        var pump = function () {
          return reader.read().then(function (chunk) {
            if (request.finished) { return; }
            var events = chunk.done ? parser.end() : parser.push(chunk.value);
            for (var i = 0; i < events.length; i++) {
              if (FoilWeb.streamEvent(client, request, events[i])) {
                reader.cancel().then(null, function () {});
                return;
              }
            }
            if (chunk.done) {
              throw FoilWeb.error(0, 'transport_error', 'the stream ended before the reply was complete', null);
            }
            return pump();
          }, function (e) {
            throw sent.timedOut()
              ? FoilWeb.error(0, 'timeout', 'the request timed out', null)
              : FoilWeb.error(0, 'transport_error', 'the stream broke: ' + (e && e.message || e), null);
          });
        };
        return pump();
      }).then(function () {
        clearTimeout(request.timer);
      }, function (error) {
        clearTimeout(request.timer);
        FoilWeb.finishError(client, request, error && error.code ? error : FoilWeb.error(0, 'decode_error', String(error), null));
      });
    },

    // Handles one server-sent event; true when it finished the request.
    streamEvent: function (client, request, event) {
      var data;
      try {
        data = event.event === 'metadata' || event.event === 'text_delta' || event.event === 'done' || event.event === 'error'
          ? JSON.parse(event.data) : null;
      } catch (e) {
        throw FoilWeb.error(0, 'decode_error', 'malformed ' + event.event + ' event: ' + event.data.slice(0, 200), null);
      }
      switch (event.event) {
        case 'metadata':
          FoilWeb.push(client, request, FoilWeb.KIND.STREAM_METADATA, 200, event.data);
          return false;
        case 'text_delta':
          if (typeof data.text !== 'string') { throw FoilWeb.error(0, 'decode_error', 'text_delta without text', null); }
          FoilWeb.push(client, request, FoilWeb.KIND.TEXT_DELTA, 200, data.text);
          return false;
        case 'done':
          FoilWeb.finish(client, request, FoilWeb.KIND.STREAM_DONE, 200, event.data, FoilWeb.observeTurn(client, data));
          return true;
        case 'error':
          FoilWeb.finishError(client, request, FoilWeb.error(0, 'stream_error', String(data.error), null));
          return true;
        default:
          // Keep-alives and later additions are skipped.
          return false;
      }
    },

    // text/event-stream (WHATWG HTML §9.2): lines end in \n, \r\n or \r; "field: value";
    // data lines join with \n; an empty line dispatches; ":" lines are comments.
    sseParser: function () {
      var decoder = new TextDecoder('utf-8');
      var buffer = '';
      var event = '';
      var data = [];
      var lines = function (final) {
        var out = [];
        var re = /\r\n|\r|\n/g;
        var start = 0;
        var match;
        while ((match = re.exec(buffer)) !== null) {
          // A \r at the very end may be the first half of \r\n: wait for more.
          if (match[0] === '\r' && match.index === buffer.length - 1 && !final) { break; }
          out.push(buffer.slice(start, match.index));
          start = re.lastIndex;
        }
        buffer = buffer.slice(start);
        var events = [];
        for (var i = 0; i < out.length; i++) {
          var line = out[i];
          if (line === '') {
            if (data.length > 0) { events.push({ event: event || 'message', data: data.join('\n') }); }
            event = '';
            data = [];
            continue;
          }
          if (line.charAt(0) === ':') { continue; }
          var colon = line.indexOf(':');
          var field = colon < 0 ? line : line.slice(0, colon);
          var value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.charAt(0) === ' ') { value = value.slice(1); }
          if (field === 'event') { event = value; } else if (field === 'data') { data.push(value); }
        }
        return events;
      };
      return {
        push: function (bytes) { buffer += decoder.decode(bytes, { stream: true }); return lines(false); },
        end: function () { buffer += decoder.decode(); return lines(true); }
      };
    },

    // ---- Results ----

    error: function (status, code, message, retryAfter) {
      return { status: status, code: code, message: message, retry_after: retryAfter };
    },

    // api.md §1 bodies ({"error": {"message", "code"}}) and 429's {"error": "..."}.
    httpError: function (response, body) {
      var retry = parseInt(response.headers.get('Retry-After') || '', 10);
      var message = null;
      var code = null;
      try {
        var error = JSON.parse(body).error;
        if (typeof error === 'string') {
          message = error;
        } else if (error && typeof error === 'object') {
          message = typeof error.message === 'string' ? error.message : null;
          code = typeof error.code === 'string' ? error.code : null;
        }
      } catch (e) {
        // Not JSON: the status line says it.
      }
      if (code === null) { code = response.status === 429 ? 'rate_limited' : 'http_error'; }
      return FoilWeb.error(response.status, code, message || response.statusText || 'HTTP status ' + response.status,
        isNaN(retry) ? null : retry);
    },

    finishResponse: function (client, request, spec, body) {
      var parsed;
      try {
        parsed = JSON.parse(body);
      } catch (e) {
        FoilWeb.finishError(client, request, FoilWeb.error(200, 'decode_error', 'the response is not JSON: ' + e.message, null));
        return;
      }
      if (spec.decode === 'personas' && client.personaCacheTtlMs > 0 && FoilWeb.cachedPersonas(client) === null) {
        client.personaCache = { at: Date.now(), body: body };
      }
      var gameEvents = [];
      if (request.finished) { return; }
      if (spec.track === 'restart') {
        FoilWeb.restart(client, parsed.session_id);
      } else if (spec.track === 'status') {
        FoilWeb.setStatus(client, parsed);
      } else if (spec.track === 'turn') {
        gameEvents = FoilWeb.observeTurn(client, parsed);
      }
      FoilWeb.finish(client, request, FoilWeb.KIND.RESPONSE, 200, body, gameEvents);
    },

    finishError: function (client, request, error) {
      FoilWeb.finish(client, request, FoilWeb.KIND.ERROR, error.status, JSON.stringify(error), []);
    },

    // The request's one finishing event, then its game events; nothing after it.
    finish: function (client, request, kind, status, payload, gameEvents) {
      if (request.finished || client.freed) { return; }
      request.finished = true;
      if (request.timer !== null) { clearTimeout(request.timer); }
      delete client.inFlight[request.id];
      client.queue.push({ id: request.id, kind: kind, status: status, payload: payload });
      for (var i = 0; i < gameEvents.length; i++) {
        client.queue.push({ id: request.id, kind: gameEvents[i].kind, status: 0, payload: JSON.stringify(gameEvents[i].payload) });
      }
    },

    push: function (client, request, kind, status, payload) {
      if (!request.finished && !client.freed) {
        client.queue.push({ id: request.id, kind: kind, status: status, payload: payload });
      }
    },

    // ---- Game events (foil-client/src/events.rs, SessionTracker) ----

    restart: function (client, sessionId) {
      client.sessions[sessionId] = { state: null, score: 0, outcome: null, completed: false, unlocked: {} };
    },

    setStatus: function (client, status) {
      var known = client.sessions[status.session_id] || { unlocked: {} };
      known.state = status.current_state;
      known.score = status.score;
      known.outcome = status.outcome === undefined ? null : status.outcome;
      known.completed = known.outcome !== null;
      client.sessions[status.session_id] = known;
    },

    observeTurn: function (client, turn) {
      var id = turn.session_id;
      var known = client.sessions[id] || { state: null, score: null, outcome: null, completed: false, unlocked: {} };
      var outcome = turn.outcome === undefined ? null : turn.outcome;
      var decision = turn.decision === undefined ? null : turn.decision;
      var events = [];
      var K = FoilWeb.KIND;
      if (known.state !== null && known.state !== turn.current_state) {
        events.push({ kind: K.STATE_CHANGE, payload: { session_id: id, from_state: known.state, to_state: turn.current_state, decision: decision } });
      }
      if (known.score !== null && known.score !== turn.score) {
        events.push({ kind: K.SCORE_CHANGE, payload: { session_id: id, old_score: known.score, new_score: turn.score, delta: turn.score - known.score } });
      }
      if (turn.machine_completed && !known.completed) {
        events.push({ kind: K.MACHINE_COMPLETED, payload: { session_id: id, outcome: outcome, final_score: turn.score } });
      }
      var unlocked = [];
      var machines = turn.unlocked_machines || [];
      for (var i = 0; i < machines.length; i++) {
        if (!known.unlocked[machines[i].machine_id]) {
          known.unlocked[machines[i].machine_id] = true;
          unlocked.push(machines[i]);
        }
      }
      if (unlocked.length > 0) {
        events.push({ kind: K.MACHINES_UNLOCKED, payload: { session_id: id, machines: unlocked } });
      }
      if (outcome !== null && known.outcome === null) {
        events.push({ kind: K.SESSION_ENDED, payload: { session_id: id, outcome: outcome, final_score: turn.score } });
      }
      known.state = turn.current_state;
      known.score = turn.score;
      known.outcome = outcome;
      known.completed = known.completed || !!turn.machine_completed;
      client.sessions[id] = known;
      return events;
    },

    // ---- Player tokens (foil-client/src/credential.rs) ----

    // {exp, iat} of a pt_ token's JWT payload (signature not checked: only for scheduling).
    claims: function (credential) {
      if (credential.length > 8192 || credential.indexOf('pt_') !== 0) { return null; }
      var parts = credential.slice(3).split('.');
      if (parts.length !== 3) { return null; }
      try {
        var base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
        while (base64.length % 4 !== 0) { base64 += '='; }
        var payload = JSON.parse(decodeURIComponent(escape(atob(base64))));
        if (typeof payload.exp !== 'number' || !(payload.exp >= 0)) { return null; }
        return { exp: payload.exp, iat: typeof payload.iat === 'number' && payload.iat >= 0 ? payload.iat : null };
      } catch (e) {
        return null;
      }
    },

    watchCredential: function (client) {
      if (client.credentialTimer !== null) {
        clearTimeout(client.credentialTimer);
        client.credentialTimer = null;
      }
      var claims = FoilWeb.claims(client.apiKey);
      if (claims === null) { return; }
      var now = Date.now();
      var expMs = claims.exp * 1000;
      var lifetime = Math.max(0, expMs - (claims.iat !== null ? claims.iat * 1000 : now));
      var refreshAt = expMs - Math.min(lifetime / 10, FoilWeb.MAX_REFRESH_MARGIN_MS);
      client.credentialTimer = setTimeout(function () {
        client.credentialTimer = null;
        if (!client.freed) {
          client.queue.push({ id: 0, kind: FoilWeb.KIND.CREDENTIAL_EXPIRING, status: 0, payload: JSON.stringify({ expires_at: Math.floor(claims.exp) }) });
        }
      }, Math.max(0, refreshAt - now));
    }
  },

  // The C entry point: UTF-8 JSON in, a malloc'd UTF-8 JSON string out (the C# marshaller
  // copies and frees it).
  FoilWeb_Call__deps: ['$FoilWeb'],
  FoilWeb_Call: function (requestPtr) {
    var response = FoilWeb.call(UTF8ToString(requestPtr));
    var size = lengthBytesUTF8(response) + 1;
    var buffer = _malloc(size);
    stringToUTF8(response, buffer, size);
    return buffer;
  }
};

mergeInto(LibraryManager.library, FoilEngineWebGL);

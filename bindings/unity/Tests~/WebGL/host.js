// Loads Plugins/WebGL/FoilEngine.jslib the way Emscripten links it into a Unity WebGL player
// — mergeInto(LibraryManager.library, ...), `$` dependencies as globals, strings through a
// UTF-8 heap with _malloc/_free — so that Node runs the very file Unity ships.
//
//   require('./host').load()  -> { FoilWeb, call(json) -> json, heap }   (for webgl.test.js)
//   node host.js              -> one JSON request per stdin line, one answer per stdout line,
//                                through FoilWeb_Call (the C# tests' bridge under Mono)
'use strict';

const fs = require('fs');
const path = require('path');

const JSLIB = path.join(__dirname, '..', '..', 'Plugins', 'WebGL', 'FoilEngine.jslib');

/** A bump-allocated byte heap with Emscripten's string helpers; counts live blocks. */
function makeHeap() {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8');
  const heap = { bytes: new Uint8Array(1 << 16), top: 8, live: new Map() };
  heap._malloc = (size) => {
    if (heap.live.size === 0) heap.top = 8; // everything freed: start over
    while (heap.top + size > heap.bytes.length) {
      const bigger = new Uint8Array(heap.bytes.length * 2);
      bigger.set(heap.bytes);
      heap.bytes = bigger;
    }
    const ptr = heap.top;
    heap.top += size + (8 - (size % 8));
    heap.live.set(ptr, size);
    return ptr;
  };
  heap._free = (ptr) => {
    if (!heap.live.delete(ptr)) throw new Error(`_free of ${ptr}, not allocated`);
  };
  heap.lengthBytesUTF8 = (text) => encoder.encode(text).length;
  heap.stringToUTF8 = (text, ptr, maxBytes) => {
    const bytes = encoder.encode(text);
    if (bytes.length + 1 > maxBytes) throw new Error('stringToUTF8: buffer too small');
    heap.bytes.set(bytes, ptr);
    heap.bytes[ptr + bytes.length] = 0;
  };
  heap.UTF8ToString = (ptr) => {
    let end = ptr;
    while (heap.bytes[end] !== 0) end++;
    return decoder.decode(heap.bytes.subarray(ptr, end));
  };
  /** A C string in the heap (as the marshaller passes a C# string); free it with _free. */
  heap.cString = (text) => {
    const size = heap.lengthBytesUTF8(text) + 1;
    const ptr = heap._malloc(size);
    heap.stringToUTF8(text, ptr, size);
    return ptr;
  };
  return heap;
}

/** Evaluates the jslib as Emscripten's library linker does and returns its parts. */
function load() {
  const source = fs.readFileSync(JSLIB, 'utf8');
  const library = {};
  const LibraryManager = { library };
  const mergeInto = (target, added) => Object.assign(target, added);
  new Function('mergeInto', 'LibraryManager', source)(mergeInto, LibraryManager);

  const heap = makeHeap();
  // What the jslib's functions may use: Emscripten's runtime helpers and its own `$` globals.
  for (const name of ['_malloc', '_free', 'lengthBytesUTF8', 'stringToUTF8', 'UTF8ToString']) {
    globalThis[name] = heap[name];
  }
  for (const [key, value] of Object.entries(library)) {
    if (key.startsWith('$')) globalThis[key.slice(1)] = value;
  }
  // Every exported function's dependencies exist.
  for (const [key, deps] of Object.entries(library)) {
    if (!key.endsWith('__deps')) continue;
    for (const dep of deps) {
      if (!(dep in library)) throw new Error(`${key} names ${dep}, which the library lacks`);
    }
  }

  /** A call as the C# bridge makes it: C string in, malloc'd C string out, freed after. */
  const call = (json) => {
    const request = heap.cString(json);
    const answer = library.FoilWeb_Call(request);
    heap._free(request);
    const text = heap.UTF8ToString(answer);
    heap._free(answer);
    return text;
  };
  return { FoilWeb: library.$FoilWeb, library, call, heap, source };
}

module.exports = { load, JSLIB };

if (require.main === module) {
  const { call } = load();
  const readline = require('readline');
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    process.stdout.write(call(line) + '\n');
  });
  lines.on('close', () => process.exit(0));
}

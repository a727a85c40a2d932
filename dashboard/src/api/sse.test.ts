import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "./sse";

const stream =
  'event: metadata\ndata: {"current_state":"S1","score":2}\n\n' +
  'event: text_delta\ndata: {"text":"Caf\u00e9 "}\n\n' +
  ": keep-alive comment\n\n" +
  'event: text_delta\ndata: {"text":"\u2615 ready"}\n\n' +
  'event: done\ndata: {"message":"Caf\u00e9 \u2615 ready"}\n\n';

function parseInChunks(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let last = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.slice(last, c)));
    last = c;
  }
  out.push(...p.end());
  return out;
}

describe("SseParser", () => {
  const bytes = new TextEncoder().encode(stream);
  const whole = parseInChunks(bytes, []);

  it("parses the frames in order", () => {
    expect(whole.map((e) => e.event)).toEqual(["metadata", "text_delta", "text_delta", "done"]);
    expect(JSON.parse(whole[1].data)).toEqual({ text: "Café " });
    expect(JSON.parse(whole[3].data).message).toBe("Café ☕ ready");
  });

  it("gives the same events for every single split position (even inside UTF-8 sequences)", () => {
    for (let i = 1; i < bytes.length; i++) expect(parseInChunks(bytes, [i])).toEqual(whole);
  });

  it("gives the same events byte by byte and for random splits", () => {
    expect(parseInChunks(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(whole);
    let seed = 7;
    for (let n = 0; n < 50; n++) {
      const cuts = new Set<number>();
      for (let k = 0; k < 6; k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        cuts.add(1 + (seed % (bytes.length - 1)));
      }
      expect(parseInChunks(bytes, [...cuts].sort((a, b) => a - b))).toEqual(whole);
    }
  });

  it("handles CRLF and CR line endings, multi-line data and a missing final blank line", () => {
    const p = new SseParser();
    const out = [...p.push("event: a\r\ndata: 1\r\ndata: 2\r\n\r\nevent: b\rdata: x\r\r"), ...p.push("data: tail"), ...p.end()];
    expect(out).toEqual([
      { event: "a", data: "1\n2" },
      { event: "b", data: "x" },
      { event: "message", data: "tail" },
    ]);
  });

  it("waits when a CR might be the first half of CRLF", () => {
    const p = new SseParser();
    expect(p.push("data: 1\r")).toEqual([]);
    expect(p.push("\n\r\n")).toEqual([{ event: "message", data: "1" }]);
  });
});

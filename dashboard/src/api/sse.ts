// A small Server-Sent Events frame parser for `fetch` + `ReadableStream` (EventSource cannot
// POST or send headers). Bytes may arrive split anywhere, even inside a UTF-8 sequence.

export interface SseEvent {
  event: string;
  data: string;
}

export class SseParser {
  private decoder = new TextDecoder("utf-8");
  private buffer = "";
  private eventName = "";
  private dataLines: string[] = [];

  /** Feeds bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** Flushes the decoder at the end of the stream; returns a last unterminated event, if any. */
  end(): SseEvent[] {
    this.buffer += this.decoder.decode();
    return this.drain(true);
  }

  private drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1 && !final) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line, out);
    }
    if (final) {
      if (this.buffer.length > 0) {
        this.line(this.buffer, out);
        this.buffer = "";
      }
      this.line("", out);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]) {
    if (line === "") {
      if (this.dataLines.length > 0) {
        out.push({ event: this.eventName || "message", data: this.dataLines.join("\n") });
      }
      this.eventName = "";
      this.dataLines = [];
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.dataLines.push(value);
  }
}

/** Reads a `fetch` response body as SSE, calling `onEvent` for each event as it completes. */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: SseEvent) => void,
): Promise<void> {
  const reader = body.getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const e of parser.push(value)) onEvent(e);
    }
    for (const e of parser.end()) onEvent(e);
  } finally {
    reader.releaseLock();
  }
}

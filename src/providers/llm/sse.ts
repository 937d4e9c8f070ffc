/**
 * Server-Sent Events parsing (the WHATWG event-stream format) for streamed chat completions.
 *
 * Network chunks may end anywhere: in the middle of a line, between the CR and LF of a CRLF, or inside a
 * multi-byte UTF-8 character. The parser therefore keeps the unfinished tail of the text between pushes,
 * and `readSseStream` decodes bytes with a streaming TextDecoder.
 */

export interface SseEvent {
  /** The `data:` lines of the event joined with "\n" (per the spec). */
  data: string;
  /** The `event:` field, when the server sent one. */
  event?: string;
}

/** Pure, incremental event-stream parser: push text, get the events completed by it. */
export class SseParser {
  private buffer = '';
  private dataLines: string[] = [];
  private eventName: string | undefined;
  /** Comment lines (`: keep-alive`) seen so far; servers send them to keep proxies from timing out. */
  comments = 0;

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      if (cr === -1 && lf === -1) break;
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
        if (cr === this.buffer.length - 1) break;
        end = cr;
        next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.handleLine(this.buffer.slice(start, end), events);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * End of stream. The spec drops an event that was not terminated by a blank line; we dispatch it
   * instead, because a server that closes right after `data: [DONE]\n` still meant it.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.buffer.length > 0) {
      this.handleLine(this.buffer.replace(/\r$/, ''), events);
      this.buffer = '';
    }
    this.dispatch(events);
    return events;
  }

  private handleLine(line: string, events: SseEvent[]): void {
    if (line === '') {
      this.dispatch(events);
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    // `id` and `retry` only matter for EventSource reconnection, which a chat request never does.
  }

  private dispatch(events: SseEvent[]): void {
    if (this.dataLines.length > 0) {
      const event: SseEvent = { data: this.dataLines.join('\n') };
      if (this.eventName !== undefined) event.event = this.eventName;
      events.push(event);
    }
    this.dataLines = [];
    this.eventName = undefined;
  }
}

/** Reads a byte stream (a fetch body) as SSE events. */
export async function* readSseStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const bytes of body) {
    yield* parser.push(decoder.decode(bytes, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  yield* parser.end();
}

import { authHeaders } from './api.js';

/** One server-sent event: its `event:` type (default `message`) and its `data:` lines joined. */
export interface SseEvent {
  type: string;
  data: string;
}

/**
 * Parses a text/event-stream incrementally: feed it chunks, it returns the events completed so
 * far. Comment lines (`: heartbeat`) and fields other than event and data are skipped.
 */
export class SseParser {
  private buffer = '';
  private type = '';
  private data: string[] = [];

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) events.push({ type: this.type || 'message', data: this.data.join('\n') });
        this.type = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') this.type = value;
      else if (name === 'data') this.data.push(value);
    }
    return events;
  }
}

export interface LiveStream {
  close(): void;
}

/**
 * Reads an SSE endpoint with fetch() and a stream reader, so the API key travels in a header
 * (EventSource cannot send one). Reconnects after a dropped connection, unless the stream
 * ended on its own (`done`) or was closed.
 */
export function openStream(path: string, onEvent: (event: SseEvent) => void, options: { onEnd?: () => void; reconnect?: boolean } = {}): LiveStream {
  const controller = new AbortController();
  let closed = false;
  const run = async (): Promise<void> => {
    let delay = 1000;
    while (!closed) {
      try {
        const response = await fetch(`/api${path}`, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: controller.signal });
        if (!response.ok || !response.body) throw new Error(`stream ${path}: ${response.status}`);
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) onEvent(event);
        }
        if (options.reconnect === false) {
          options.onEnd?.();
          return;
        }
      } catch (error) {
        if (closed) return;
        if (error instanceof Error && /: (401|404)$/.test(error.message)) {
          options.onEnd?.();
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  void run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}

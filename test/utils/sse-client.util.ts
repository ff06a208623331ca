/** One message of a text/event-stream as a test sees it: an event, or a comment line. */
export type SseItem = { kind: 'event'; type: string; data: unknown } | { kind: 'comment'; text: string };

export interface SseClient {
  status: number;
  items: SseItem[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Waits until an item matches (or the stream ends without one, or time runs out). */
  waitFor(match: (item: SseItem) => boolean, timeoutMs: number, what: string): Promise<SseItem>;
  close(): void;
}

/**
 * Reads a server-sent event stream over real HTTP with fetch, as the dashboard does (the key in
 * a header). Events' data is parsed as JSON; comments are kept, to see heartbeats.
 */
export async function openSse(url: string, apiKey: string | null): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' } : {}, signal: controller.signal });
  const items: SseItem[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  let done = false;
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let type = '';
    let data: string[] = [];
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (data.length > 0) items.push({ kind: 'event', type: type || 'message', data: JSON.parse(data.join('\n')) as unknown });
            type = '';
            data = [];
          } else if (line.startsWith(':')) items.push({ kind: 'comment', text: line.slice(1).trim() });
          else if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          notify();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      notify();
    }
  })();
  const waitFor: SseClient['waitFor'] = (match, timeoutMs, what) =>
    new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < items.length; seen++) {
          if (match(items[seen]!)) return finish(() => resolve(items[seen]!));
        }
        if (done) finish(() => reject(new Error(`the stream ended before ${what}; got ${JSON.stringify(items.map((i) => (i.kind === 'event' ? i.type : ':')))}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  return { status: response.status, items, ended, waitFor, close: () => controller.abort() };
}

/**
 * Live updates as Server-Sent Events. A page opens `/api/stream?runs=a,b&cursors=c1,c2` with the
 * cursors its series came with; the stream then sends only what is new: `metrics` events with the
 * lines appended to each followed run, and `runs` events with the run list when any run changed.
 */

import { readMetricsFrom } from "./metrics_log.ts";
import type { RunIndex } from "./run_index.ts";

const HEARTBEAT_MS = 15_000;
// Each event carries at most this much of a file, so a catch-up costs little memory per tick.
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Bytes a client may leave unread before it is dropped. Without a bound a client that never
 * reads makes the server buffer every event for it; a live page reads each event at once.
 */
export const MAX_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;

/** Options of `liveStream`. */
export interface LiveOptions {
  /** How often the files are checked for news (ms). */
  pollMs: number;
  /** Aborted when the server shuts down. */
  signal?: AbortSignal;
}

/** Answers a `/api/stream` request with an SSE stream that runs until the client leaves. */
export function liveStream(index: RunIndex, url: URL, opts: LiveOptions): Response {
  const ids = (url.searchParams.get("runs") ?? "").split(",").filter((s) => s !== "");
  const cursorTexts = (url.searchParams.get("cursors") ?? "").split(",");
  const followed = ids.map((id, i) => ({
    id,
    cursor: Math.max(0, Number(cursorTexts[i]) || 0),
    ino: null as number | null,
  }));
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let seenVersion = index.version;
  let lastWrite = Date.now();

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        if (closed) return;
        // desiredSize = high-water mark − bytes queued: ≤ 0 means the client is that far behind.
        if ((controller.desiredSize ?? 1) <= 0) return drop();
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        lastWrite = Date.now();
      };
      // error() (unlike close()) discards the queued bytes at once and ends the response.
      const drop = () => {
        closed = true;
        clearTimeout(timer);
        // Deno prints the error a body stream ends with: make it one line, not a stack trace.
        const message = `viz: dropped an SSE client that left ${
          MAX_CLIENT_BUFFER_BYTES / 2 ** 20
        } MiB unread`;
        controller.error(Object.assign(new Error(message), { stack: message }));
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        try {
          controller.close();
        } catch { /* already closed by the client */ }
      };
      opts.signal?.addEventListener("abort", close, { once: true });
      const tick = async () => {
        if (closed) return;
        try {
          await pollOnce(index, followed, send);
          if (index.version !== seenVersion) {
            seenVersion = index.version;
            send("runs", { runs: index.summaries() });
          }
          if (Date.now() - lastWrite > HEARTBEAT_MS) {
            controller.enqueue(encoder.encode(": ping\n\n"));
            lastWrite = Date.now();
          }
        } catch {
          return close(); // the client went away mid-write
        }
        if (!closed) timer = setTimeout(tick, opts.pollMs);
      };
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
      timer = setTimeout(tick, 0);
    },
    cancel() {
      closed = true;
      clearTimeout(timer);
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: MAX_CLIENT_BUFFER_BYTES }));
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

async function pollOnce(
  index: RunIndex,
  followed: { id: string; cursor: number; ino: number | null }[],
  send: (event: string, data: unknown) => void,
): Promise<void> {
  await index.refresh();
  for (const run of followed) {
    const entry = index.get(run.id);
    if (!entry) continue;
    const chunk = await readMetricsFrom(entry.log.path, run.cursor, MAX_EVENT_BYTES, run.ino);
    run.ino = chunk.ino;
    run.cursor = chunk.cursor; // also past skipped (oversized or malformed) lines
    if (chunk.records.length === 0 && !chunk.reset) continue;
    send("metrics", {
      id: run.id,
      cursor: chunk.cursor,
      reset: chunk.reset,
      records: chunk.records,
    });
  }
}

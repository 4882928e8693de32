/**
 * Encodes batches of documents into one token stream each (EOT before every document), in this
 * thread or spread over Web Workers. Results come back in submission order, so the output does
 * not depend on the number of workers.
 */

import type { Tokenizer } from "./tokenizer.ts";

/** Encodes `docs` with EOT before each one, each document cut to `maxLength` tokens (EOT included). */
export function encodeDocuments(
  tok: Tokenizer,
  docs: readonly string[],
  eot: number,
  maxLength = Infinity,
): Uint32Array {
  const parts: Uint32Array[] = [];
  let total = 0;
  for (const doc of docs) {
    let ids = tok.encode(doc);
    if (ids.length + 1 > maxLength) ids = ids.subarray(0, Math.max(0, maxLength - 1));
    parts.push(ids);
    total += ids.length + 1;
  }
  const out = new Uint32Array(total);
  let at = 0;
  for (const ids of parts) {
    out[at++] = eot;
    out.set(ids, at);
    at += ids.length;
  }
  return out;
}

/** Message a worker receives. */
export type WorkerRequest =
  | { type: "init"; tokenizer: string; eot: number; maxLength: number }
  | { type: "encode"; id: number; docs: string[] };

/** Message a worker sends back. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "encoded"; id: number; tokens: Uint32Array }
  | { type: "error"; message: string };

const WORKER_URL = new URL("./encode_worker.ts", import.meta.url);

/**
 * Whether the worker's module is there to start: in a checkout yes; in `dist/kiln.js` (one
 * bundled file) or a binary built without it, no, and encoding runs in this thread instead.
 */
async function workerModuleExists(): Promise<boolean> {
  if (WORKER_URL.protocol !== "file:") return false;
  try {
    return (await Deno.stat(WORKER_URL)).isFile;
  } catch {
    return false;
  }
}

/** A set of encoders that turns batches of documents into token arrays, in order. */
export class EncodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, (r: Uint32Array | Error) => void>();
  private nextId = 0;
  private nextWorker = 0;

  private constructor(
    private readonly local: Tokenizer | null,
    private readonly eot: number,
    private readonly maxLength: number,
  ) {}

  /**
   * A pool of `workers` Web Workers that each load `tokenizer` (`gpt2` or a tokenizer.json
   * path); with one worker, encoding runs in this thread with `tok`.
   */
  static async open(
    tok: Tokenizer,
    tokenizer: string,
    eot: number,
    workers: number,
    maxLength = Infinity,
  ): Promise<EncodePool> {
    if (workers <= 1 || !(await workerModuleExists())) return new EncodePool(tok, eot, maxLength);
    const pool = new EncodePool(null, eot, maxLength);
    const ready: Promise<void>[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(WORKER_URL, { type: "module" });
      ready.push(
        new Promise((resolve, reject) => {
          worker.onmessage = (e: MessageEvent<WorkerReply>) => {
            if (e.data.type === "ready") resolve();
            else if (e.data.type === "encoded") pool.settle(e.data.id, e.data.tokens);
            else {
              const err = new Error(e.data.message);
              reject(err);
              pool.failAll(err);
            }
          };
          worker.onerror = (e) => {
            e.preventDefault();
            const err = new Error(`encoder worker failed: ${e.message}`);
            reject(err);
            pool.failAll(err);
          };
        }),
      );
      const init: WorkerRequest = {
        type: "init",
        tokenizer,
        eot,
        maxLength: Number.isFinite(maxLength) ? maxLength : 0,
      };
      worker.postMessage(init);
      pool.workers.push(worker);
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** Encodes one batch; the promise resolves with its token stream. */
  encode(docs: string[]): Promise<Uint32Array> {
    if (this.local) {
      return Promise.resolve(encodeDocuments(this.local, docs, this.eot, this.maxLength));
    }
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker];
    this.nextWorker = (this.nextWorker + 1) % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => r instanceof Error ? reject(r) : resolve(r));
      const request: WorkerRequest = { type: "encode", id, docs };
      worker.postMessage(request);
    });
  }

  private settle(id: number, tokens: Uint32Array): void {
    const done = this.pending.get(id);
    this.pending.delete(id);
    done?.(tokens);
  }

  private failAll(err: Error): void {
    for (const done of this.pending.values()) done(err);
    this.pending.clear();
  }

  /** Stops the workers. */
  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

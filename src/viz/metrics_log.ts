/**
 * Incremental reading of a run's `metrics.jsonl`. The file is append-only while a run trains, so
 * a reader keeps a byte-offset cursor and reads only what was appended since; a half-written last
 * line is left for the next read. Records are kept as columns (one Float64Array per field) so a
 * 100,000-step run costs a few megabytes and a downsample is a tight loop.
 */

/** One parsed line of metrics.jsonl (`type` is train | val | event; other keys vary). */
export type MetricsRecord = Record<string, unknown> & { type?: string };

/** What one incremental read returned. */
export interface MetricsChunk {
  records: MetricsRecord[];
  /** Byte offset just past the last complete line consumed; pass it back as the next cursor. */
  cursor: number;
  /** True when the file shrank below the given cursor (replaced): the read restarted at 0. */
  reset: boolean;
  /** Lines that were complete but not valid JSON objects (skipped). */
  malformed: number;
  /** True when `maxBytes` stopped the read before the end of the file. */
  more: boolean;
  /** The file's inode (null where the platform has none); pass it back with the cursor. */
  ino: number | null;
  /** Complete lines longer than {@link MAX_LINE_BYTES}, skipped without being buffered whole. */
  oversized: number;
}

const NEWLINE = 0x0a;

/**
 * The longest metrics line kept (bytes). Real lines are a few hundred bytes (a diagnostics line
 * with per-layer arrays a few kilobytes); anything longer is corrupt or hostile, and parsing it
 * would cost its whole size in memory and CPU on every read.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/** How much of the file one read step takes (a chunk holds many whole lines). */
const DEFAULT_READ_BYTES = 16 * 1024 * 1024;

/**
 * Reads the records appended to `path` after byte `cursor`. A missing file reads as empty. A
 * trailing fragment without a newline is consumed only if it already parses as a JSON object,
 * so a line the trainer is still writing is read once it is complete.
 *
 * @example
 * ```ts
 * let cursor = 0;
 * const chunk = await readMetricsFrom("runs/x/…/metrics.jsonl", cursor);
 * cursor = chunk.cursor;
 * ```
 */
export async function readMetricsFrom(
  path: string,
  cursor: number,
  maxBytes = DEFAULT_READ_BYTES,
  ino: number | null = null,
): Promise<MetricsChunk> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return {
        records: [],
        cursor: 0,
        reset: cursor > 0,
        malformed: 0,
        more: false,
        ino: null,
        oversized: 0,
      };
    }
    throw err;
  }
  try {
    const info = await file.stat();
    const size = info.size;
    // A resumed run may rewrite the file (temp file + rename): a new inode means start over.
    const reset = size < cursor || (ino !== null && info.ino !== null && info.ino !== ino);
    const start = reset ? 0 : Math.max(0, Math.floor(cursor));
    // A chunk must hold a line of the longest length kept, or such a line would never fit.
    const length = Math.min(size - start, Math.max(maxBytes, 2 * MAX_LINE_BYTES));
    if (length <= 0) {
      return {
        records: [],
        cursor: start,
        reset,
        malformed: 0,
        more: false,
        ino: info.ino,
        oversized: 0,
      };
    }
    const bytes = new Uint8Array(length);
    await file.seek(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    const parsed = parseCompleteLines(bytes.subarray(0, got));
    let next = start + parsed.consumed;
    let oversized = parsed.oversized;
    let more = start + got < size;
    if (got - parsed.consumed > MAX_LINE_BYTES) {
      // The unfinished tail is already too long to keep: skip to its end without buffering it.
      const end = await findNewline(file, next, size);
      if (end !== null) {
        next = end + 1;
        oversized++;
        more = next < size;
      } else more = false; // still being written (or never ended): wait at its start
    }
    return {
      records: parsed.records,
      cursor: next,
      reset,
      malformed: parsed.malformed,
      more,
      ino: info.ino,
      oversized,
    };
  } finally {
    file.close();
  }
}

/** Offset of the first newline at or after `from`, read in small blocks; null if none. */
async function findNewline(file: Deno.FsFile, from: number, size: number): Promise<number | null> {
  const block = new Uint8Array(1024 * 1024);
  let pos = from;
  await file.seek(from, Deno.SeekMode.Start);
  while (pos < size) {
    const n = await file.read(block);
    if (n === null) break;
    const i = block.subarray(0, n).indexOf(NEWLINE);
    if (i >= 0) return pos + i;
    pos += n;
  }
  return null;
}

/** Parses the complete lines of `bytes`; `consumed` is how many bytes they covered. */
export function parseCompleteLines(
  bytes: Uint8Array,
): { records: MetricsRecord[]; consumed: number; malformed: number; oversized: number } {
  const lastNewline = bytes.lastIndexOf(NEWLINE);
  const decoder = new TextDecoder();
  const { text: body, oversized } = lastNewline < 0
    ? { text: "", oversized: 0 }
    : decodeWithoutLongLines(bytes.subarray(0, lastNewline), decoder);
  const out = parseBody(body);
  let consumed = lastNewline + 1;
  if (bytes.length - consumed <= MAX_LINE_BYTES) {
    const tail = decoder.decode(bytes.subarray(consumed)).trim();
    if (tail.endsWith("}")) {
      const record = tryParseObject(tail);
      if (record) {
        out.records.push(record);
        consumed = bytes.length;
      }
    }
  }
  return { ...out, consumed, oversized };
}

/** Decodes newline-separated lines, leaving out (and counting) those over MAX_LINE_BYTES. */
function decodeWithoutLongLines(
  bytes: Uint8Array,
  decoder: TextDecoder,
): { text: string; oversized: number } {
  if (bytes.length <= MAX_LINE_BYTES) return { text: decoder.decode(bytes), oversized: 0 };
  const parts: string[] = [];
  let oversized = 0;
  let kept = 0; // start of the run of short lines not yet decoded
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    if (end - start > MAX_LINE_BYTES) {
      if (start - 1 > kept) parts.push(decoder.decode(bytes.subarray(kept, start - 1)));
      oversized++;
      kept = end + 1;
    }
    start = end + 1;
  }
  if (kept < bytes.length) parts.push(decoder.decode(bytes.subarray(kept)));
  return { text: parts.join("\n"), oversized };
}

function parseBody(body: string): { records: MetricsRecord[]; malformed: number } {
  if (body.trim() === "") return { records: [], malformed: 0 };
  // One JSON.parse over the whole chunk is several times faster than one per line; a bad or
  // blank line anywhere makes it throw, and then each line is parsed on its own.
  try {
    const all = JSON.parse("[" + body.replaceAll("\n", ",") + "]") as unknown[];
    if (all.every(isObject)) return { records: all as MetricsRecord[], malformed: 0 };
  } catch { /* fall through to the line-by-line parse */ }
  const lines = body.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const records: MetricsRecord[] = [];
  let malformed = 0;
  for (const line of lines) {
    const record = tryParseObject(line);
    if (record) records.push(record);
    else malformed++;
  }
  return { records, malformed };
}

function tryParseObject(text: string): MetricsRecord | null {
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value as MetricsRecord : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A growable table of numeric columns (one per field seen). Missing or non-numeric values are
 * NaN, so every column has one entry per row.
 */
export class ColumnTable {
  private capacity = 0;
  private shapeKeys: string[] = [];
  private shapeCols: (Float64Array | null)[] = [];
  /** Number of rows. */
  length = 0;
  private readonly data = new Map<string, Float64Array>();

  /**
   * Appends one row; numeric fields become columns (booleans count as 0/1, and an array of
   * numbers such as per-layer norms becomes columns `key.0`, `key.1`, …).
   */
  push(record: Record<string, unknown>): void {
    if (this.length === this.capacity) this.grow();
    const row = this.length;
    // Lines of one type nearly always share their keys in order: remember the last key order and
    // its columns, so the common case costs one string compare per field instead of a Map lookup.
    let k = 0, cacheable = true;
    for (const key in record) {
      const v = record[key];
      if (cacheable && this.shapeKeys[k] === key) {
        const col = this.shapeCols[k];
        if (col === null ? typeof v === "string" : typeof v === "number") {
          if (col) col[row] = v as number;
          k++;
          continue;
        }
      }
      if (cacheable) {
        this.shapeKeys.length = k;
        this.shapeCols.length = k;
      }
      if (Array.isArray(v)) {
        cacheable = false;
        v.forEach((item, i) => this.set(`${key}.${i}`, item));
        continue;
      }
      const col = this.set(key, v);
      if (cacheable && (col !== null || typeof v === "string")) {
        this.shapeKeys.push(key);
        this.shapeCols.push(col);
        k++;
      } else cacheable = false;
    }
    this.length++;
  }

  private set(key: string, v: unknown): Float64Array | null {
    const num = typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : undefined;
    if (num === undefined) return null;
    let col = this.data.get(key);
    if (!col) {
      col = new Float64Array(this.capacity).fill(NaN);
      this.data.set(key, col);
    }
    col[this.length] = num;
    return col;
  }

  /** The column `name` trimmed to `length` rows (a view, not a copy), or undefined. */
  column(name: string): Float64Array | undefined {
    return this.data.get(name)?.subarray(0, this.length);
  }

  /** Names of all columns, in the order they first appeared. */
  fields(): string[] {
    return [...this.data.keys()];
  }

  /** The last finite value of a column, or null. */
  last(name: string): number | null {
    const col = this.column(name);
    if (!col) return null;
    for (let i = col.length - 1; i >= 0; i--) if (Number.isFinite(col[i])) return col[i];
    return null;
  }

  /** The smallest finite value of a column, or null. */
  min(name: string): number | null {
    return reduceFinite(this.column(name), (a, b) => Math.min(a, b));
  }

  /** The largest finite value of a column, or null. */
  max(name: string): number | null {
    return reduceFinite(this.column(name), (a, b) => Math.max(a, b));
  }

  /** Mean of the finite values of a column, or null. */
  mean(name: string): number | null {
    const col = this.column(name);
    if (!col) return null;
    let sum = 0, n = 0;
    for (const v of col) {
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    return n > 0 ? sum / n : null;
  }

  private grow(): void {
    const next = Math.max(256, this.capacity * 2);
    for (const [key, col] of this.data) {
      const bigger = new Float64Array(next).fill(NaN);
      bigger.set(col);
      this.data.set(key, bigger);
    }
    this.shapeKeys = [];
    this.shapeCols = [];
    this.capacity = next;
  }
}

function reduceFinite(
  col: Float64Array | undefined,
  fn: (a: number, b: number) => number,
): number | null {
  if (!col) return null;
  let acc: number | null = null;
  for (const v of col) if (Number.isFinite(v)) acc = acc === null ? v : fn(acc, v);
  return acc;
}

/**
 * One run's metrics kept in memory and brought up to date by `refresh()`, which reads only the
 * bytes appended since the last call (or starts over when the file was replaced).
 */
export class MetricsLog {
  readonly path: string;
  /** Byte offset of the next unread line. */
  cursor = 0;
  train = new ColumnTable();
  val = new ColumnTable();
  /** Diagnostics lines (`type: "diag"`): activation norms, entropies, memory. */
  diag = new ColumnTable();
  events: MetricsRecord[] = [];
  /** Complete lines that were not valid JSON objects. */
  malformed = 0;
  /** Lines over MAX_LINE_BYTES that were skipped (a warning is printed for the first). */
  oversized = 0;
  private lastSize = -1;
  private lastMtime = -1;
  private ino: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Reads what was appended since the last refresh; returns true when anything changed.
   * Overlapping calls are queued, so two requests never append the same lines twice.
   */
  refresh(): Promise<boolean> {
    const run = this.queue.then(() => this.readAppended());
    this.queue = run.catch(() => false);
    return run;
  }

  private async readAppended(): Promise<boolean> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
    const mtime = info.mtime?.getTime() ?? 0;
    if (info.size === this.lastSize && mtime === this.lastMtime && info.ino === this.ino) {
      return false;
    }
    let changed = false;
    for (;;) {
      const chunk = await readMetricsFrom(this.path, this.cursor, undefined, this.ino);
      this.ino = chunk.ino;
      if (chunk.reset) this.clear();
      for (const record of chunk.records) this.add(record);
      this.malformed += chunk.malformed;
      if (chunk.oversized > 0 && this.oversized === 0) {
        console.error(
          `warning: ${this.path}: skipped a line longer than ${MAX_LINE_BYTES} bytes`,
        );
      }
      this.oversized += chunk.oversized;
      changed ||= chunk.reset || chunk.records.length > 0;
      this.cursor = chunk.cursor;
      if (!chunk.more) break;
    }
    this.lastSize = info.size;
    this.lastMtime = mtime;
    return changed;
  }

  /** Adds one record to the table of its type. */
  add(record: MetricsRecord): void {
    if (record.type === "train") this.train.push(record);
    else if (record.type === "val") this.val.push(record);
    else if (record.type === "diag") this.diag.push(record);
    else if (record.type === "event") this.events.push(record);
  }

  private clear(): void {
    this.train = new ColumnTable();
    this.val = new ColumnTable();
    this.diag = new ColumnTable();
    this.events = [];
    this.malformed = 0;
    this.oversized = 0;
  }
}

/**
 * The visualizer's JSON API (`/api/…`), read-only. Runs are addressed by the ids the index made
 * from the directory listing; artifact files by names that must appear in their directory's
 * listing. Nothing a client sends is joined into a file path.
 */

import { join } from "node:path";
import { isInsideDir } from "../util/fs.ts";
import { debiasedEma, downsampleMinMax, type SeriesPoints } from "./downsample.ts";
import { type ColumnTable, type MetricsLog, readMetricsFrom } from "./metrics_log.ts";
import { type RunEntry, type RunIndex, summarize } from "./run_index.ts";

/** The quantities a chart's x axis can show. */
export const X_AXES = ["step", "tokens", "elapsed_s", "flops"] as const;
/** One of `X_AXES`. */
export type XAxis = typeof X_AXES[number];

/** Subdirectories of a run whose files (written by validate/probe) the page may show. */
export const ARTIFACT_DIRS = ["attention", "probe"] as const;

const ARTIFACT_TYPES: Record<string, string> = {
  svg: "image/svg+xml",
  png: "image/png",
  json: "application/json",
};

const DEFAULT_POINTS = 2000;
const MAX_POINTS = 1_000_000;
const MAX_INCREMENT_BYTES = 8 * 1024 * 1024;

/** A JSON response (no caching: runs change under us). */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** A JSON error response `{ error }`. */
export function errorResponse(status: number, message: string): Response {
  return jsonResponse({ error: message }, status);
}

/** Routes one `/api/…` GET request. */
export async function handleApi(index: RunIndex, url: URL): Promise<Response> {
  const parts = url.pathname.split("/").slice(2); // ["runs", id, sub, …]
  if (parts[0] !== "runs") return errorResponse(404, "no such endpoint");
  if (parts.length === 1 || (parts.length === 2 && parts[1] === "")) {
    await index.refresh();
    return jsonResponse({ runs: index.summaries() });
  }
  const entry = index.get(parts[1]);
  if (!entry) return errorResponse(404, "no such run");
  await index.refreshRun(entry);
  const sub = parts.slice(2);
  if (sub.length === 0) return jsonResponse(await runDetail(entry));
  if (sub.length === 1 && sub[0] === "series") return seriesResponse(entry, url.searchParams);
  if (sub.length === 1 && sub[0] === "metrics") return incrementResponse(entry, url.searchParams);
  if (sub.length === 1 && sub[0] === "metrics.csv") return csvResponse(entry);
  if (sub.length === 3 && sub[0] === "files") return artifactResponse(entry, sub[1], sub[2]);
  return errorResponse(404, "no such endpoint");
}

/** A run's metadata (run.json), resolved config, summary and artifact list. */
export async function runDetail(entry: RunEntry) {
  return {
    summary: summarize(entry),
    meta: entry.meta,
    config: entry.config,
    config_text: entry.configText,
    events: entry.log.events,
    malformed_lines: entry.log.malformed,
    oversized_lines: entry.log.oversized,
    artifacts: await listArtifacts(entry),
  };
}

/** Files under the run's artifact directories that the page can show or link. */
export async function listArtifacts(entry: RunEntry): Promise<{ dir: string; name: string }[]> {
  const out: { dir: string; name: string }[] = [];
  for (const dir of ARTIFACT_DIRS) {
    for (const name of await listArtifactNames(entry, dir)) out.push({ dir, name });
  }
  return out;
}

async function listArtifactNames(entry: RunEntry, dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(entry.ref.dir, dir))) {
      const ext = e.name.split(".").pop()!.toLowerCase();
      if (e.isFile && !e.name.startsWith(".") && ARTIFACT_TYPES[ext]) names.push(e.name);
    }
  } catch { /* no such directory */ }
  return names.sort();
}

async function artifactResponse(entry: RunEntry, dir: string, name: string): Promise<Response> {
  if (!(ARTIFACT_DIRS as readonly string[]).includes(dir)) {
    return errorResponse(404, "no such file");
  }
  // Served only if the exact name is in the directory listing, so `..`, encoded separators or
  // absolute paths can never name a file outside it.
  if (!(await listArtifactNames(entry, dir)).includes(name)) {
    return errorResponse(404, "no such file");
  }
  const path = join(entry.ref.dir, dir, name);
  // A symlink (the artifact directory or the file) must not lead out of the logdir.
  if (!(await isInsideDir(entry.ref.dir, path))) return errorResponse(404, "no such file");
  const body = await Deno.readFile(path);
  return new Response(body, {
    headers: {
      "content-type": ARTIFACT_TYPES[name.split(".").pop()!.toLowerCase()],
      "content-security-policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
      "cache-control": "no-store",
    },
  });
}

/** Parses `?x=`, answering null for a value that is not an x axis. */
function parseXAxis(value: string | null): XAxis | null {
  const x = value ?? "step";
  return (X_AXES as readonly string[]).includes(x) ? x as XAxis : null;
}

function seriesResponse(entry: RunEntry, params: URLSearchParams): Response {
  const x = parseXAxis(params.get("x"));
  if (!x) return errorResponse(400, `x must be one of ${X_AXES.join(", ")}`);
  const points = Number(params.get("points") ?? DEFAULT_POINTS);
  if (!Number.isInteger(points) || points < 2 || points > MAX_POINTS) {
    return errorResponse(400, `points must be an integer from 2 to ${MAX_POINTS}`);
  }
  const smooth = Number(params.get("smooth") ?? 0);
  if (!(smooth >= 0 && smooth < 1)) return errorResponse(400, "smooth must be in [0, 1)");
  const range = parseRange(params.get("from"), params.get("to"));
  if (range === undefined) return errorResponse(400, "from/to must be numbers");
  const wanted = params.get("fields")?.split(",").filter((f) => f !== "");
  return jsonResponse(buildSeries(entry, { x, points, smooth, range, fields: wanted }));
}

function parseRange(from: string | null, to: string | null): [number, number] | null | undefined {
  if (from === null && to === null) return null;
  const lo = from === null ? -Infinity : Number(from), hi = to === null ? Infinity : Number(to);
  return Number.isNaN(lo) || Number.isNaN(hi) ? undefined : [lo, hi];
}

/** Options of `buildSeries`. */
export interface SeriesOptions {
  x: XAxis;
  points: number;
  /** Debiased-EMA weight for the `loss_smoothed` train series (0 = none). */
  smooth?: number;
  range?: [number, number] | null;
  /**
   * Only these train/diag fields (default: all numeric fields that are not x axes). Val series
   * always come whole: they are few and hold the task metrics a page cannot know in advance.
   */
  fields?: string[];
}

/**
 * A run's train and val series against `x`, each downsampled to at most `points` points with
 * min/max buckets. `cursor` is the metrics byte offset the data covers: a live client asks the
 * stream or `/metrics?cursor=` for what comes after it.
 */
export function buildSeries(entry: RunEntry, opts: SeriesOptions) {
  const { log } = entry;
  const range = opts.range ?? undefined;
  const pickFields = (names: string[], all: boolean) =>
    names.filter((f) =>
      !(X_AXES as readonly string[]).includes(f) && (all || !opts.fields || opts.fields.includes(f))
    );
  const series = (table: ColumnTable, all = false) => {
    const out: Record<string, SeriesPoints> = {};
    const xs = xColumn(log, table, opts.x);
    if (!xs) return out;
    for (const f of pickFields(table.fields(), all)) {
      out[f] = downsampleMinMax(xs, table.column(f)!, opts.points, range);
    }
    return out;
  };
  const train = series(log.train);
  const loss = log.train.column("loss");
  const trainX = xColumn(log, log.train, opts.x);
  if (opts.smooth && loss && trainX && (!opts.fields || opts.fields.includes("loss_smoothed"))) {
    train.loss_smoothed = downsampleMinMax(
      trainX,
      debiasedEma(loss, opts.smooth),
      opts.points,
      range,
    );
  }
  return {
    id: entry.ref.id,
    x: opts.x,
    points: opts.points,
    cursor: log.cursor,
    train_count: log.train.length,
    val_count: log.val.length,
    diag_count: log.diag.length,
    train,
    val: series(log.val, true),
    diag: series(log.diag),
    events: log.events.map((e) => ({ ...e, x: eventX(entry, e, opts.x) })),
  };
}

/** Where an event sits on the x axis: its own value, else that of the train row at its step. */
function eventX(entry: RunEntry, event: Record<string, unknown>, x: XAxis): number | null {
  if (typeof event[x] === "number") return event[x] as number;
  if (typeof event.step !== "number") return null;
  const v = stepToX(entry.log, event.step, x);
  return Number.isFinite(v) ? v : null;
}

/**
 * The x values of a table's rows: its own column, or (for diag lines, which carry only step and
 * elapsed_s) the x of the train row logged at the same step.
 */
function xColumn(log: MetricsLog, table: ColumnTable, x: XAxis): ArrayLike<number> | undefined {
  const own = table.column(x);
  if (own && table.last(x) !== null) return own;
  const steps = table.column("step");
  if (!steps || !log.train.column(x)) return undefined;
  return Float64Array.from(steps, (s) => stepToX(log, s, x));
}

/** The x of the first train row whose step is at least `step` (train steps ascend), else NaN. */
function stepToX(log: MetricsLog, step: number, x: XAxis): number {
  const steps = log.train.column("step"), xs = log.train.column(x);
  if (!steps || !xs || steps.length === 0) return NaN;
  let lo = 0, hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < step) lo = mid + 1;
    else hi = mid;
  }
  return lo < steps.length ? xs[lo] : NaN;
}

async function incrementResponse(entry: RunEntry, params: URLSearchParams): Promise<Response> {
  const cursor = Number(params.get("cursor") ?? 0);
  if (!Number.isInteger(cursor) || cursor < 0) {
    return errorResponse(400, "cursor must be a non-negative integer");
  }
  const chunk = await readMetricsFrom(entry.log.path, cursor, MAX_INCREMENT_BYTES);
  return jsonResponse({ id: entry.ref.id, ...chunk });
}

/** The run's train, val and diag rows as CSV (one `type` column, then the union of fields). */
export function metricsCsv(entry: RunEntry): string {
  const tables = [
    ["train", entry.log.train],
    ["val", entry.log.val],
    ["diag", entry.log.diag],
  ] as const;
  const fields: string[] = [];
  for (const x of X_AXES) fields.push(x);
  for (const [, table] of tables) {
    for (const f of table.fields()) if (!fields.includes(f)) fields.push(f);
  }
  const lines = [["type", ...fields].join(",")];
  for (const [type, table] of tables) {
    const cols = fields.map((f) => table.column(f));
    for (let i = 0; i < table.length; i++) {
      const cells = cols.map((c) => c && Number.isFinite(c[i]) ? String(c[i]) : "");
      lines.push(`${type},${cells.join(",")}`);
    }
  }
  return lines.join("\n") + "\n";
}

function csvResponse(entry: RunEntry): Response {
  return new Response(metricsCsv(entry), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${entry.ref.id}.csv"`,
      "cache-control": "no-store",
    },
  });
}

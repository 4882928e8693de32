/**
 * The set of runs under a log directory, as the visualizer and `deno task runs` see them. Runs
 * are found by listing the directory (`<logdir>/<experiment>/<run>/`, or `<logdir>/<run>/`, or
 * the logdir itself), and each gets an id made from its directory name. Clients name runs only by
 * these ids, so no path a client sends ever reaches the file system.
 */

import { markDeadRun } from "../train/dead_run.ts";
import { basename, join } from "node:path";
import { parseYaml } from "../deps.ts";
import { isInsideDir } from "../util/fs.ts";
import { MetricsLog } from "./metrics_log.ts";

/** A run directory found under the logdir. */
export interface RunRef {
  /** Stable id: the run directory's name, prefixed by its experiment only if names collide. */
  id: string;
  /** Absolute or logdir-relative path of the run directory (never sent to clients). */
  dir: string;
  /** The experiment directory's name ("" when the run sits directly in the logdir). */
  experiment: string;
  /** The run directory's own name (`YYYYmmdd-HHMMSS-<short id>`). */
  dirName: string;
}

/** What the run list shows for one run. */
export interface RunSummary {
  id: string;
  /** `<experiment>/<run dir>`, relative to the logdir (display only). */
  path: string;
  name: string;
  experiment: string;
  status: string;
  created: string | null;
  updated: string | null;
  params: number | null;
  step: number | null;
  tokens: number | null;
  flops: number | null;
  elapsed_s: number | null;
  last_train_loss: number | null;
  best_val_loss: number | null;
  last_val_loss: number | null;
  mean_tokens_per_s: number | null;
  optimal_loss: number | null;
  train_points: number;
  val_points: number;
  diag_points: number;
  /** The resolved config flattened to dotted keys (`training.batch_size`: "64"). */
  config: Record<string, string>;
  /** The sweep the run belongs to and the values its point varied (run.json), else null. */
  sweep_id: string | null;
  sweep: Record<string, unknown> | null;
}

/** One run with its parsed files, kept up to date by `RunIndex.refresh`. */
export interface RunEntry {
  ref: RunRef;
  meta: Record<string, unknown> | null;
  config: Record<string, unknown> | null;
  configText: string;
  log: MetricsLog;
  metaStamp: string;
  configStamp: string;
  /** The last summary and the state it was computed from (summaries scan whole columns). */
  cachedSummary?: { key: string; summary: RunSummary };
}

const RUN_MARKERS = ["run.json", "metrics.jsonl"];

/** Lists the run directories under `logdir` (two levels deep at most), sorted by path. */
export async function discoverRuns(logdir: string): Promise<RunRef[]> {
  const found: { dir: string; experiment: string; dirName: string }[] = [];
  if (await isRunDir(logdir)) {
    found.push({ dir: logdir, experiment: "", dirName: basename(logdir) || "run" });
  } else {
    for (const top of await listDirs(logdir, logdir)) {
      const topPath = join(logdir, top);
      if (await isRunDir(topPath)) {
        found.push({ dir: topPath, experiment: "", dirName: top });
        continue;
      }
      for (const inner of await listDirs(topPath, logdir)) {
        const innerPath = join(topPath, inner);
        if (await isRunDir(innerPath)) {
          found.push({ dir: innerPath, experiment: top, dirName: inner });
        }
      }
    }
  }
  found.sort((a, b) => a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0);
  return assignIds(found);
}

function assignIds(found: { dir: string; experiment: string; dirName: string }[]): RunRef[] {
  const nameCount = new Map<string, number>();
  for (const f of found) nameCount.set(f.dirName, (nameCount.get(f.dirName) ?? 0) + 1);
  const used = new Set<string>();
  return found.map((f) => {
    const base = nameCount.get(f.dirName)! > 1 && f.experiment
      ? `${f.experiment}.${f.dirName}`
      : f.dirName;
    let id = safeId(base);
    for (let k = 2; used.has(id); k++) id = `${safeId(base)}-${k}`;
    used.add(id);
    return { id, ...f };
  });
}

/** Restricts an id to URL-safe characters so it can sit in a path segment unescaped. */
function safeId(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return cleaned || "run";
}

async function isRunDir(dir: string): Promise<boolean> {
  for (const marker of RUN_MARKERS) {
    try {
      if ((await Deno.stat(join(dir, marker))).isFile) return true;
    } catch { /* not there */ }
  }
  return false;
}

/** Subdirectories of `dir`; a symlinked one only when it stays inside `root` (the logdir). */
async function listDirs(dir: string, root: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) continue;
      if (entry.isDirectory) names.push(entry.name);
      else if (entry.isSymlink) {
        const path = join(dir, entry.name);
        const info = await Deno.stat(path).catch(() => null);
        if (info?.isDirectory && await isInsideDir(root, path)) names.push(entry.name);
      }
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return [];
    throw err;
  }
  return names.sort();
}

/** Flattens nested objects to dotted keys; leaves become display strings. */
export function flattenConfig(value: unknown, prefix = "", out: Record<string, string> = {}) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (prefix) {
    out[prefix] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * All runs under a logdir with their metadata, config and metrics, refreshed incrementally:
 * `refresh()` re-lists the directory (at most every `rescanMs`), re-reads run.json/config.yaml
 * only when they changed, and reads only the appended part of each metrics.jsonl.
 *
 * @example
 * ```ts
 * const index = new RunIndex("runs");
 * await index.refresh();
 * for (const run of index.summaries()) console.log(run.id, run.best_val_loss);
 * ```
 */
export class RunIndex {
  readonly logdir: string;
  private readonly rescanMs: number;
  private entries = new Map<string, RunEntry>();
  /** Goes up by one whenever a refresh finds a change (live streams compare it). */
  version = 0;
  private lastScan = -Infinity;
  private scanning: Promise<boolean> | null = null;

  constructor(logdir: string, opts: { rescanMs?: number } = {}) {
    this.logdir = logdir;
    this.rescanMs = opts.rescanMs ?? 500;
  }

  /** Brings the index up to date; returns true when any run appeared, vanished or changed. */
  refresh(opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<boolean> {
    if (performance.now() - this.lastScan < this.rescanMs) return Promise.resolve(false);
    // Concurrent requests share one scan instead of reading the same files twice.
    this.scanning ??= this.scan(opts.onProgress).finally(() => {
      this.lastScan = performance.now();
      this.scanning = null;
    });
    return this.scanning;
  }

  private async scan(onProgress?: (done: number, total: number) => void): Promise<boolean> {
    const refs = await discoverRuns(this.logdir);
    let changed = refs.length !== this.entries.size;
    const next = new Map<string, RunEntry>();
    let done = 0;
    for (const ref of refs) {
      let entry = this.entries.get(ref.id);
      if (!entry || entry.ref.dir !== ref.dir) {
        entry = newEntry(ref);
        changed = true;
      }
      changed = (await refreshEntry(entry)) || changed;
      next.set(ref.id, entry);
      onProgress?.(++done, refs.length);
    }
    this.entries = next;
    if (changed) this.version++;
    return changed;
  }

  /** The run with this id, or undefined (ids come only from the directory listing). */
  get(id: string): RunEntry | undefined {
    return this.entries.get(id);
  }

  /** Re-reads one run's files now (no throttling); true when something changed. */
  async refreshRun(entry: RunEntry): Promise<boolean> {
    const changed = await refreshEntry(entry);
    if (changed) this.version++;
    return changed;
  }

  /** Every run, in directory order. */
  all(): RunEntry[] {
    return [...this.entries.values()];
  }

  /** Summaries of every run. */
  summaries(): RunSummary[] {
    return this.all().map(summarize);
  }
}

function newEntry(ref: RunRef): RunEntry {
  return {
    ref,
    meta: null,
    config: null,
    configText: "",
    log: new MetricsLog(join(ref.dir, "metrics.jsonl")),
    metaStamp: "",
    configStamp: "",
  };
}

/** Re-reads what changed in one run directory; true when something did. */
export async function refreshEntry(entry: RunEntry): Promise<boolean> {
  let changed = false;
  const metaPath = join(entry.ref.dir, "run.json");
  const metaStamp = await fileStamp(metaPath);
  if (metaStamp !== entry.metaStamp) {
    entry.meta = await readJsonObject(metaPath);
    entry.metaStamp = metaStamp;
    changed = true;
  }
  // A `running` run whose process is gone is marked `killed` (then read again).
  if (entry.meta?.status === "running" && await markDeadRun(entry.ref.dir)) {
    entry.meta = await readJsonObject(metaPath);
    entry.metaStamp = await fileStamp(metaPath);
  }
  const configPath = join(entry.ref.dir, "config.yaml");
  const configStamp = await fileStamp(configPath);
  if (configStamp !== entry.configStamp) {
    entry.configText = await Deno.readTextFile(configPath).catch(() => "");
    entry.config = parseConfig(entry.configText);
    entry.configStamp = configStamp;
    changed = true;
  }
  return (await entry.log.refresh()) || changed;
}

async function fileStamp(path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    return `${info.size}:${info.mtime?.getTime() ?? 0}`;
  } catch {
    return "missing";
  }
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null; // missing, or caught mid-write by a writer that does not rename atomically
  }
}

function parseConfig(text: string): Record<string, unknown> | null {
  try {
    const value = parseYaml(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The run list row for one run (recomputed only when its files changed). */
export function summarize(entry: RunEntry): RunSummary {
  const key =
    `${entry.metaStamp}|${entry.configStamp}|${entry.log.cursor}|${entry.log.train.length}`;
  if (entry.cachedSummary?.key !== key) {
    entry.cachedSummary = { key, summary: computeSummary(entry) };
  }
  return entry.cachedSummary.summary;
}

function computeSummary(entry: RunEntry): RunSummary {
  const { ref, meta, log } = entry;
  const train = log.train, val = log.val;
  const lastOf = (key: string) => {
    const t = train.max(key), v = val.max(key);
    return t === null ? v : v === null ? t : Math.max(t, v);
  };
  return {
    id: ref.id,
    path: ref.experiment ? `${ref.experiment}/${ref.dirName}` : ref.dirName,
    name: stringField(meta, ["name", "experiment_name"]) ??
      stringField(entry.config, ["experiment_name"]) ?? (ref.experiment || ref.dirName),
    experiment: ref.experiment,
    status: stringField(meta, ["status"]) ?? "unknown",
    created: stringField(meta, ["created", "created_at", "start_time"]) ??
      stampFromName(ref.dirName),
    updated: stringField(meta, ["updated", "updated_at"]),
    params: numberField(meta, [
      "param_count",
      "params",
      "parameters",
      "n_params",
      "num_params",
    ]),
    step: lastOf("step"),
    tokens: lastOf("tokens"),
    flops: lastOf("flops"),
    elapsed_s: lastOf("elapsed_s"),
    last_train_loss: train.last("loss"),
    best_val_loss: val.min("loss"),
    last_val_loss: val.last("loss"),
    mean_tokens_per_s: train.mean("tokens_per_s"),
    optimal_loss: val.last("optimal_loss"),
    train_points: train.length,
    val_points: val.length,
    diag_points: log.diag.length,
    config: flattenConfig(entry.config ?? {}),
    sweep_id: stringField(meta, ["sweep_id"]),
    sweep: meta?.sweep && typeof meta.sweep === "object"
      ? meta.sweep as Record<string, unknown>
      : null,
  };
}

function stringField(obj: Record<string, unknown> | null, keys: string[]): string | null {
  for (const k of keys) {
    const v = obj?.[k];
    if (typeof v === "string" && v !== "") return v;
  }
  return null;
}

function numberField(obj: Record<string, unknown> | null, keys: string[]): number | null {
  for (const k of keys) {
    const v = obj?.[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

/** `20250101-123456-abcd` → `2025-01-01T12:34:56` (local time as written), else null. */
function stampFromName(dirName: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(dirName);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : null;
}

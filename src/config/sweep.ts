/**
 * Sweeps: a `sweep:` section mirrors the config's structure, and every list found at a leaf is a
 * set of values to try. The configs are the cartesian product, in the order the leaves appear
 * (`method: grid`, the default), or `samples` random draws (`method: random`, see
 * sweep_random.ts). A sweep's id is fixed by its content, so every process that expands the same
 * file and overrides (a serial run, `--sweep-index`, a Slurm array task) agrees on it.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import { fnv1a32 } from "../util/random.ts";
import { checkSweepSize } from "./limits.ts";
import { isDistribution, randomPoints } from "./sweep_random.ts";

/** One varied key and the values it takes. */
export interface SweepAxis {
  path: string[];
  values: unknown[];
}

/** Lists the axes of a `sweep:` tree (lists are leaves; a list of lists sweeps list values). */
export function sweepAxes(sweep: unknown, prefix: string[] = ["sweep"]): SweepAxis[] {
  if (sweep === undefined || sweep === null) return [];
  if (isDistribution(sweep)) {
    throw new UserError(`${prefix.join(".")}: distributions need sweep.method: random`);
  }
  if (Array.isArray(sweep)) {
    if (sweep.length === 0) throw new UserError(`${prefix.join(".")}: empty list of values`);
    return [{ path: prefix.slice(1), values: sweep }];
  }
  if (typeof sweep !== "object") {
    throw new UserError(`${prefix.join(".")}: expected a list of values to sweep over`);
  }
  return Object.entries(sweep as Record<string, unknown>).flatMap(([k, v]) =>
    sweepAxes(v, [...prefix, k])
  );
}

/** One point of a sweep: the values chosen on each axis, keyed by dotted path. */
export type SweepPoint = Record<string, unknown>;

/**
 * Expands a raw config with a `sweep:` section into one raw config per point of the cartesian
 * product (without the `sweep:` key). A config without a sweep gives itself.
 */
export function expandSweep(
  raw: Record<string, unknown>,
): { raw: Record<string, unknown>; point: SweepPoint }[] {
  const { sweep, ...base } = raw;
  return sweepPoints(sweep, base).map((point) => {
    const copy = structuredClone(base);
    for (const [dotted, value] of Object.entries(point)) setAt(copy, dotted.split("."), value);
    return { raw: copy, point };
  });
}

/** The points of a `sweep:` section (grid or random) over the config `base`. */
export function sweepPoints(sweep: unknown, base: Record<string, unknown>): SweepPoint[] {
  let tree = sweep;
  if (tree && typeof tree === "object" && !Array.isArray(tree) && "method" in tree) {
    const { method, ...rest } = tree as Record<string, unknown>;
    if (method === "random") return randomPoints(tree as Record<string, unknown>, base);
    if (method !== "grid") {
      throw new UserError(`sweep.method: expected grid or random, found ${JSON.stringify(method)}`);
    }
    tree = rest;
  }
  const axes = sweepAxes(tree);
  checkSweepSize(axes.map((a) => a.values.length));
  let points: SweepPoint[] = [{}];
  for (const axis of axes) {
    points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.path.join(".")]: v })));
  }
  return points;
}

/** JSON with sorted keys: equal trees give equal text. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.keys(value).sort().map((k) =>
    `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`
  );
  return `{${entries.join(",")}}`;
}

/**
 * The id of the sweep a raw config (after overrides) describes: `<experiment_name>-<8 hex>`, a
 * hash of its content. Null when the config has no `sweep:` section.
 */
export function sweepId(raw: Record<string, unknown>): string | null {
  if (raw.sweep === undefined || raw.sweep === null) return null;
  const text = canonicalJson(raw);
  // Two differently seeded 32-bit hashes: 64 bits keep distinct sweeps apart.
  const h = fnv1a32(text).toString(16).padStart(8, "0") +
    fnv1a32(`kiln-sweep:${text}`).toString(16).padStart(8, "0");
  const name = typeof raw.experiment_name === "string" ? raw.experiment_name : "sweep";
  return `${name}-${h.slice(0, 12)}`;
}

/** A point's values as command-line overrides (`training.learning_rate=0.001`). */
export function pointOverrides(point: SweepPoint): string[] {
  return Object.entries(point).map(([k, v]) =>
    `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
  );
}

/** A short human name for a point: the last key of each path and its value. */
export function pointName(experiment: string, point: SweepPoint): string {
  const parts = Object.entries(point).map(([k, v]) =>
    `${k.split(".").at(-1)}=${
      typeof v === "number" ? fmtNumber(v) : typeof v === "string" ? v : JSON.stringify(v)
    }`
  );
  return parts.length ? `${experiment} ${parts.join(",")}` : experiment;
}

function fmtNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function setAt(root: Record<string, unknown>, path: string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== "object" || Array.isArray(next)) {
      throw new UserError(`sweep.${path.join(".")}: ${key} is not a section`);
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = structuredClone(value);
}

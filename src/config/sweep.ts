/**
 * Sweeps: a `sweep:` section mirrors the config's structure, and every list found at a leaf is a
 * set of values to try. The configs are the cartesian product, in the order the leaves appear.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import { checkSweepSize } from "./limits.ts";

/** One varied key and the values it takes. */
export interface SweepAxis {
  path: string[];
  values: unknown[];
}

/** Lists the axes of a `sweep:` tree (lists are leaves; a list of lists sweeps list values). */
export function sweepAxes(sweep: unknown, prefix: string[] = ["sweep"]): SweepAxis[] {
  if (sweep === undefined || sweep === null) return [];
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
  const axes = sweepAxes(sweep);
  checkSweepSize(axes.map((a) => a.values.length));
  let points: SweepPoint[] = [{}];
  for (const axis of axes) {
    points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.path.join(".")]: v })));
  }
  return points.map((point) => {
    const copy = structuredClone(base);
    for (const [dotted, value] of Object.entries(point)) setAt(copy, dotted.split("."), value);
    return { raw: copy, point };
  });
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

/**
 * Random search: `sweep: { method: random, samples: N, seed: S, <key tree> }`, where each leaf is
 * a distribution, `{uniform: [a, b]}`, `{log_uniform: [a, b]}`, `{choice: [...]}` or
 * `{int: [a, b]}` (inclusive), or a plain list (a choice). Sample k draws its values, leaf by
 * leaf in the order they appear, from one Mulberry32 stream seeded with S, so the same spec
 * gives the same points on every machine.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import { checkSweepSize } from "./limits.ts";
import { Mulberry32 } from "../util/random.ts";
import type { SweepPoint } from "./sweep.ts";

/** The distribution names a random-search leaf can use. */
export const DISTRIBUTIONS = ["uniform", "log_uniform", "choice", "int"] as const;
/** One of {@link DISTRIBUTIONS}. */
export type DistributionName = typeof DISTRIBUTIONS[number];

/** One varied key and how its values are drawn. */
export interface RandomAxis {
  path: string[];
  draw: (rng: Mulberry32) => unknown;
}

/** Keys of the `sweep:` section that configure the search rather than name config keys. */
export const SEARCH_KEYS = ["method", "samples"] as const;

/** True for `{name: value}` with a single key that is a distribution name. */
export function isDistribution(node: unknown): node is Record<DistributionName, unknown> {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 1 && (DISTRIBUTIONS as readonly string[]).includes(keys[0]);
}

function isLeafValue(v: unknown): boolean {
  return v === null || typeof v !== "object" || Array.isArray(v);
}

/**
 * Lists the axes of a random-search tree. `base` is the config without `sweep:`: a one-key
 * mapping where the config has a plain value can only be a distribution, so an unknown name
 * there (`{normal: [0, 1]}`) is reported as such rather than as an unknown config key.
 */
export function randomAxes(
  tree: Record<string, unknown>,
  base: unknown,
  prefix: string[] = [],
): RandomAxis[] {
  const axes: RandomAxis[] = [];
  for (const [key, node] of Object.entries(tree)) {
    const path = [...prefix, key];
    const where = `sweep.${path.join(".")}`;
    const baseHere = base && typeof base === "object" && !Array.isArray(base)
      ? (base as Record<string, unknown>)[key]
      : undefined;
    if (Array.isArray(node)) axes.push({ path, draw: choiceDraw(where, node) });
    else if (isDistribution(node)) axes.push({ path, draw: distributionDraw(where, node) });
    else if (node !== null && typeof node === "object") {
      const keys = Object.keys(node);
      if (keys.length === 1 && baseHere !== undefined && isLeafValue(baseHere)) {
        throw new UserError(
          `${where}: unknown distribution "${keys[0]}" (expected one of ${
            DISTRIBUTIONS.join(", ")
          })`,
        );
      }
      axes.push(...randomAxes(node as Record<string, unknown>, baseHere, path));
    } else {
      throw new UserError(
        `${where}: expected a distribution ({uniform: [a, b]}, {log_uniform: [a, b]}, ` +
          `{choice: [...]}, {int: [a, b]}) or a list of values`,
      );
    }
  }
  return axes;
}

function choiceDraw(where: string, values: unknown[]): (rng: Mulberry32) => unknown {
  if (values.length === 0) throw new UserError(`${where}: empty list of values`);
  return (rng) => structuredClone(values[Math.floor(rng.next() * values.length)]);
}

function pair(where: string, name: string, spec: unknown): [number, number] {
  if (
    !Array.isArray(spec) || spec.length !== 2 ||
    !spec.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    throw new UserError(
      `${where}: ${name} needs [a, b] (two numbers), found ${JSON.stringify(spec)}`,
    );
  }
  return [spec[0], spec[1]];
}

function distributionDraw(
  where: string,
  node: Record<DistributionName, unknown>,
): (rng: Mulberry32) => unknown {
  const name = Object.keys(node)[0] as DistributionName;
  const spec = node[name];
  if (name === "choice") {
    if (!Array.isArray(spec)) {
      throw new UserError(`${where}: choice needs a list of values, found ${JSON.stringify(spec)}`);
    }
    return choiceDraw(where, spec);
  }
  const [a, b] = pair(where, name, spec);
  if (name === "uniform") {
    if (!(a < b)) throw new UserError(`${where}: uniform needs a < b, found [${a}, ${b}]`);
    return (rng) => a + (b - a) * rng.next();
  }
  if (name === "log_uniform") {
    if (!(a > 0 && a < b)) {
      throw new UserError(`${where}: log_uniform needs 0 < a < b, found [${a}, ${b}]`);
    }
    const [la, lb] = [Math.log(a), Math.log(b)];
    return (rng) => Math.exp(la + (lb - la) * rng.next());
  }
  if (!Number.isInteger(a) || !Number.isInteger(b) || a > b) {
    throw new UserError(`${where}: int needs integers a <= b, found [${a}, ${b}]`);
  }
  return (rng) => a + Math.floor(rng.next() * (b - a + 1));
}

/**
 * The points of a random search: `samples` draws from the distributions in `spec` (the `sweep:`
 * section with `method: random`), seeded by its numeric `seed` (default 0). A `seed:` that is a
 * list or a distribution is the config's own seed being searched over, not the search seed.
 */
export function randomPoints(spec: Record<string, unknown>, base: unknown): SweepPoint[] {
  const { method: _method, samples, ...rest } = spec;
  let searchSeed = 0;
  if (typeof rest.seed === "number") {
    if (!Number.isInteger(rest.seed) || rest.seed < 0) {
      throw new UserError(`sweep.seed: expected a non-negative integer, found ${rest.seed}`);
    }
    searchSeed = rest.seed;
    delete rest.seed;
  }
  if (typeof samples !== "number" || !Number.isInteger(samples) || samples < 1) {
    throw new UserError(
      `sweep.samples: method random needs samples: N (a positive integer), found ${
        JSON.stringify(samples ?? null)
      }`,
    );
  }
  checkSweepSize([samples], "sweep.samples");
  const axes = randomAxes(rest, base);
  if (axes.length === 0) throw new UserError("sweep: method random with nothing to vary");
  const rng = new Mulberry32(searchSeed);
  return Array.from({ length: samples }, () => {
    const point: SweepPoint = {};
    for (const axis of axes) point[axis.path.join(".")] = axis.draw(rng);
    return point;
  });
}

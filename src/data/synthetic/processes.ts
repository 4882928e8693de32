/**
 * Built-in processes (REFERENCE.md §1) and the registry a config names them through
 * (`data.process: mess3`, `data.params: {x: 0.05, a: 0.85}`). A failed lookup lists the names.
 */

import { UserError } from "../../util/errors.ts";
import { Process, type ProcessSpec } from "./process.ts";

/** Parameters of a process factory, as they appear under `data.params`. */
export type ProcessParams = Record<string, unknown>;

/** Makes a process from its parameters (missing ones take the documented defaults). */
export type ProcessFactory = (params?: ProcessParams) => Process;

function probability(params: ProcessParams, key: string, fallback: number, process: string) {
  const value = params[key] ?? fallback;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new UserError(
      `${process}: parameter ${key} must be a probability in [0, 1], got ${value}`,
    );
  }
  return value;
}

function checkKnownParams(params: ProcessParams, known: string[], process: string): void {
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      throw new UserError(
        `${process}: unknown parameter "${key}" (expected ${known.join(", ") || "none"})`,
      );
    }
  }
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/**
 * mess3(x, a): 3 states, 3 tokens, `T^k[i][j] = (i == j ? 1 − 2x : x) · (j == k ? a : (1 − a)/2)`.
 * Defaults are the seed's x = 0.05, a = 0.85.
 */
export function mess3(params: { x?: number; a?: number } = {}): Process {
  checkKnownParams(params, ["x", "a"], "mess3");
  const x = probability(params, "x", 0.05, "mess3");
  const a = probability(params, "a", 0.85, "mess3");
  if (x > 0.5) throw new UserError(`mess3: parameter x must be at most 0.5, got ${x}`);
  const y = 1 - 2 * x;
  const b = (1 - a) / 2;
  const matrices = [0, 1, 2].map((k) =>
    [0, 1, 2].map((i) => [0, 1, 2].map((j) => (i === j ? y : x) * (j === k ? a : b)))
  );
  return new Process({ name: `mess3(x=${fmt(x)},a=${fmt(a)})`, matrices });
}

/** zero_one_random(p): emits 0, 1, then a random bit that is 1 with probability p. */
export function zero_one_random(params: { p?: number } = {}): Process {
  checkKnownParams(params, ["p"], "zero_one_random");
  const p = probability(params, "p", 0.5, "zero_one_random");
  const q = 1 - p;
  return new Process({
    name: `zero_one_random(p=${fmt(p)})`,
    matrices: [
      [[0, 1, 0], [0, 0, 0], [q, 0, 0]],
      [[0, 0, 0], [0, 0, 1], [p, 0, 0]],
    ],
  });
}

/**
 * rrxor(p1, p2): two random bits (0 with probability p1, then 0 with probability p2) followed by
 * their XOR. States S, 0, 1, T, F.
 */
export function rrxor(params: { p1?: number; p2?: number } = {}): Process {
  checkKnownParams(params, ["p1", "p2"], "rrxor");
  const p1 = probability(params, "p1", 0.5, "rrxor");
  const p2 = probability(params, "p2", 0.5, "rrxor");
  const [S, Z, O, T, F] = [0, 1, 2, 3, 4];
  const t0 = Array.from({ length: 5 }, () => new Array(5).fill(0));
  const t1 = Array.from({ length: 5 }, () => new Array(5).fill(0));
  t0[S][Z] = p1;
  t1[S][O] = 1 - p1;
  t0[Z][F] = p2;
  t1[Z][T] = 1 - p2;
  t0[O][T] = p2;
  t1[O][F] = 1 - p2;
  t1[T][S] = 1;
  t0[F][S] = 1;
  return new Process({ name: `rrxor(p1=${fmt(p1)},p2=${fmt(p2)})`, matrices: [t0, t1] });
}

/** even_ones(p): 1s come in even-length blocks. */
export function even_ones(params: { p?: number } = {}): Process {
  checkKnownParams(params, ["p"], "even_ones");
  const p = probability(params, "p", 0.5, "even_ones");
  return new Process({
    name: `even_ones(p=${fmt(p)})`,
    matrices: [[[1 - p, 0], [0, 0]], [[0, p], [1, 0]]],
  });
}

/** no_consecutive_ones(p): the golden-mean process; a 1 is always followed by a 0. */
export function no_consecutive_ones(params: { p?: number } = {}): Process {
  checkKnownParams(params, ["p"], "no_consecutive_ones");
  const p = probability(params, "p", 0.5, "no_consecutive_ones");
  return new Process({
    name: `no_consecutive_ones(p=${fmt(p)})`,
    matrices: [[[1 - p, 0], [1, 0]], [[0, p], [0, 0]]],
  });
}

/** coin(p): i.i.d. tokens, 0 with probability p. */
export function coin(params: { p?: number } = {}): Process {
  checkKnownParams(params, ["p"], "coin");
  const p = probability(params, "p", 0.5, "coin");
  return new Process({ name: `coin(p=${fmt(p)})`, matrices: [[[p]], [[1 - p]]] });
}

/**
 * A process from explicit matrices (`data.process: custom`, `data.params: {matrices: …}`), the
 * way a YAML config or code defines its own. A `normalizer` makes it a generalized HMM.
 */
export function custom(params: ProcessParams = {}): Process {
  checkKnownParams(params, ["name", "matrices", "normalizer"], "custom");
  if (!Array.isArray(params.matrices)) {
    throw new UserError(
      "custom process: params.matrices must be a list of square matrices, one per token",
    );
  }
  const spec: ProcessSpec = {
    name: typeof params.name === "string" ? params.name : "custom",
    matrices: params.matrices as number[][][],
  };
  if (params.normalizer !== undefined) {
    if (!Array.isArray(params.normalizer)) {
      throw new UserError("custom process: params.normalizer must be a list of numbers");
    }
    spec.normalizer = params.normalizer as number[];
  }
  return new Process(spec);
}

/**
 * The built-in processes by name.
 *
 * @example
 * ```ts
 * const p = processes.mess3({ x: 0.05, a: 0.85 });
 * ```
 */
export const processes = {
  mess3,
  zero_one_random,
  rrxor,
  even_ones,
  no_consecutive_ones,
  coin,
  custom,
} as const;

const registry = new Map<string, ProcessFactory>(
  Object.entries(processes) as [string, ProcessFactory][],
);

/** Adds a process kind that configs can name; refuses to replace an existing name. */
export function registerProcess(name: string, factory: ProcessFactory): void {
  if (registry.has(name)) throw new Error(`process "${name}" is already registered`);
  registry.set(name, factory);
}

/** Names every registered process kind, sorted. */
export function processNames(): string[] {
  return [...registry.keys()].sort();
}

/** Builds the named process; an unknown name is a UserError listing the known ones. */
export function createProcess(name: string, params: ProcessParams = {}): Process {
  const factory = registry.get(name);
  if (!factory) {
    throw new UserError(`unknown process "${name}"; known: ${processNames().join(", ")}`);
  }
  return factory(params);
}

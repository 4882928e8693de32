/**
 * What a checkpoint must satisfy before anything trusts it: the fields of `state.json` and their
 * types, finite tensors, optimizer moments that agree with the state, and parameter names and
 * shapes that match the model. Each failure is a one-line UserError naming the file and field.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import type { Checkpoint, NamedTensor, TrainState } from "./checkpoint.ts";

type Check = (value: unknown) => boolean;

const isNonNegInt: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isInt: Check = (v) => Number.isSafeInteger(v);
const isFiniteNum: Check = (v) => typeof v === "number" && Number.isFinite(v);
const isNonNegNum: Check = (v) => isFiniteNum(v) && (v as number) >= 0;
const orNull = (c: Check): Check => (v) => v === null || c(v);
const isObject: Check = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Each state field with its check and what the check expects, in words. */
const STATE_FIELDS: [string, Check, string][] = [
  ["step", isNonNegInt, "a non-negative integer"],
  ["tokens", isNonNegInt, "a non-negative integer"],
  ["batch_index", isNonNegInt, "a non-negative integer"],
  ["rng", isObject, "an object"],
  ["rng.seed", isInt, "an integer"],
  ["rng.batch_index", isNonNegInt, "a non-negative integer"],
  ["schedule", isObject, "an object"],
  ["schedule.total_steps", isNonNegInt, "a non-negative integer"],
  ["schedule.warmup_steps", isNonNegInt, "a non-negative integer"],
  ["schedule.lr_scale", (v) => isFiniteNum(v) && (v as number) > 0, "a positive number"],
  ["best_val_loss", orNull(isFiniteNum), "a finite number or null"],
  ["best_step", orNull(isNonNegInt), "a non-negative integer or null"],
  ["initial_val_loss", orNull(isFiniteNum), "a finite number or null"],
  ["failures", isNonNegInt, "a non-negative integer"],
  ["elapsed_s", isNonNegNum, "a non-negative number"],
  ["model", isObject, "an object"],
];

function field(obj: unknown, path: string): unknown {
  let v = obj;
  for (const k of path.split(".")) v = isObject(v) ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Checks a parsed `state.json` (at `path`) and returns it typed. */
export function checkTrainState(raw: unknown, path: string): TrainState {
  if (!isObject(raw)) throw new UserError(`${path}: expected a JSON object, found ${show(raw)}`);
  for (const [name, check, expected] of STATE_FIELDS) {
    const v = field(raw, name);
    if (!check(v)) throw new UserError(`${path}: ${name} must be ${expected}, found ${show(v)}`);
  }
  const s = raw as unknown as TrainState;
  if (s.rng.batch_index !== s.batch_index) {
    throw new UserError(
      `${path}: rng.batch_index ${s.rng.batch_index} differs from batch_index ${s.batch_index}`,
    );
  }
  if (s.best_step !== null && s.best_step > s.step) {
    throw new UserError(`${path}: best_step ${s.best_step} is after step ${s.step}`);
  }
  return s;
}

/** Checks that every value of `data` is finite (`nonNegative`: and ≥ 0), naming the tensor. */
export function checkFinite(
  data: Float32Array,
  what: string,
  opts: { nonNegative?: boolean } = {},
): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (!Number.isFinite(x) || (opts.nonNegative && x < 0)) {
      throw new UserError(
        `${what}: element ${i} is ${x}, expected a finite number` +
          (opts.nonNegative ? " ≥ 0" : ""),
      );
    }
  }
}

/** Checks the optimizer moments and step against the state (`path`: optimizer.safetensors). */
export function checkOptimizerAgreement(ckpt: Checkpoint, path: string): void {
  const { m, v, step } = ckpt.optimizer;
  if (m.length !== v.length) {
    throw new UserError(`${path}: adamw.m has ${m.length} values, adamw.v ${v.length}`);
  }
  const params = [...ckpt.params.values()].reduce((n, t) => n + t.data.length, 0);
  if (m.length < params) {
    throw new UserError(`${path}: adamw.m has ${m.length} values for ${params} parameters`);
  }
  if (!isNonNegInt(step)) {
    throw new UserError(
      `${path}: metadata step must be a non-negative integer, found ${show(step)}`,
    );
  }
  if (step !== ckpt.state.step) {
    throw new UserError(
      `${path}: optimizer step ${step} differs from state.json step ${ckpt.state.step}`,
    );
  }
}

/**
 * Checks a checkpoint's parameters against the names and shapes a model has (`source`: the
 * weights file, named in errors): nothing missing, nothing extra, every shape equal.
 */
export function checkParamsMatch(
  expected: Map<string, { shape: readonly number[] }>,
  params: Map<string, NamedTensor>,
  source: string,
): void {
  for (const [name, tensor] of expected) {
    const stored = params.get(name);
    if (!stored) throw new UserError(`${source}: missing tensor ${name}`);
    if (stored.shape.join(",") !== tensor.shape.join(",")) {
      throw new UserError(
        `${source}: ${name} has shape [${stored.shape}], the model config needs [${tensor.shape}]`,
      );
    }
  }
  const extra = [...params.keys()].find((n) => !expected.has(n));
  if (extra) throw new UserError(`${source}: unexpected tensor ${extra} for this model config`);
}

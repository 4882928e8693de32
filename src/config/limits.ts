/**
 * Sane maxima checked before anything is allocated or written. The schema says what a value may
 * be (a positive integer); these limits say what kiln can actually run: a `d_model` of 10⁹ or an
 * `eval_batches` of 10¹² passes the schema but would allocate or loop for hours before failing.
 * Each violation is a one-line UserError naming the key, so bad input exits 2 with nothing
 * written.
 *
 * @module
 */

import { UserError } from "../util/errors.ts";
import type { Config } from "./schema.ts";

/**
 * The largest value kiln accepts for each key (dotted path). Generous: every real small-model
 * config is far below; they exist to turn typos (1e9 for 1e3) into errors rather than hangs.
 */
export const CONFIG_MAXIMA: Readonly<Record<string, number>> = Object.freeze({
  // Token ids are i32 on the GPU and exact in f32 up to 2²⁴.
  "model.vocab_size": 2 ** 24,
  "model.max_seq_len": 2 ** 20,
  "model.d_model": 2 ** 16,
  "model.d_ffn": 2 ** 18,
  "model.n_layer": 4096,
  "model.n_head": 4096,
  "training.batch_size": 2 ** 16,
  "training.grad_accum_steps": 2 ** 16,
  "training.max_steps": 1e9,
  "training.num_epochs": 1e6,
  "training.eval_batches": 1e6,
  "training.diagnostics.entropy_samples": 2 ** 16,
});

/** Most points a sweep may expand to (each is a full training run). */
export const MAX_SWEEP_POINTS = 10_000;

/** Most bytes in one path component on the common file systems (ext4, APFS, NTFS). */
export const MAX_NAME_BYTES = 255;

/** The value at a dotted path of a config-like tree (undefined when absent). */
function valueAt(root: unknown, dotted: string): unknown {
  let node = root;
  for (const key of dotted.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Throws a UserError for the first key above its maximum in {@link CONFIG_MAXIMA}; `source`
 * names the file (and sweep point) in the message.
 */
export function checkConfigLimits(config: Config, source = "config"): void {
  for (const [key, max] of Object.entries(CONFIG_MAXIMA)) {
    const value = valueAt(config, key);
    if (typeof value === "number" && value > max) {
      throw new UserError(
        `${source}: ${key}: ${value} is over kiln's limit of ${max} (a typo? lower it)`,
      );
    }
  }
  checkPathName(config.experiment_name, `${source}: experiment_name`);
}

/**
 * Throws a UserError unless `name` can be one directory name inside its parent: not empty, not
 * `.` or `..`, no path separator or NUL, at most {@link MAX_NAME_BYTES} bytes in UTF-8. This is
 * what keeps `runs/<experiment_name>/` inside the runs root.
 */
export function checkPathName(name: string, what: string): void {
  if (name === "" || name === "." || name === "..") {
    throw new UserError(`${what}: "${name}" cannot name a directory`);
  }
  if (/[/\\\0]/.test(name)) {
    throw new UserError(`${what}: "${name}" contains a path separator`);
  }
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_NAME_BYTES) {
    throw new UserError(
      `${what}: ${bytes} bytes long, over the file system's limit of ${MAX_NAME_BYTES}`,
    );
  }
}

/**
 * Throws a UserError when a sweep would expand to more than {@link MAX_SWEEP_POINTS} runs.
 * Called with the axis lengths before the product is built, so a 10⁶-point sweep costs nothing.
 */
export function checkSweepSize(axisLengths: number[], source = "sweep"): void {
  let points = 1;
  for (const n of axisLengths) points *= n;
  if (points > MAX_SWEEP_POINTS) {
    throw new UserError(
      `${source}: ${axisLengths.join(" × ")} = ${points} runs, over kiln's limit of ` +
        `${MAX_SWEEP_POINTS}; split the sweep`,
    );
  }
}

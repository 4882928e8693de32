/**
 * Algorithmic tasks as character sequences: a prompt that ends with a separator, then the
 * answer, then EOS. Each task brings its alphabet; the vocabulary is that alphabet in order plus
 * one EOS id (which also fills padded input positions).
 */

import { UserError } from "../../../util/errors.ts";
import { fnv1a32, hashInts, type KeyedXoshiro128 } from "../../../util/random.ts";

/** One example: `prompt` ends with the task's separator; `answer` follows it. */
export interface TaskSample {
  prompt: string;
  answer: string;
}

/** A task: how to draw an example and what characters it uses. */
export interface Task {
  /** Display name with parameters, e.g. `multiplication(2x2,lsb)`. */
  readonly name: string;
  /** Every character a prompt or answer may contain, each once. */
  readonly alphabet: string;
  /** Ends every prompt; the answer starts right after it. */
  readonly separator: string;
  /** Longest prompt + answer in characters (EOS not counted). */
  readonly maxLength: number;
  /** Draws one example from `rng`. */
  sample(rng: KeyedXoshiro128): TaskSample;
}

/** Parameters of a task factory, as under `data.params`. */
export type TaskParams = Record<string, unknown>;

/** Character ↔ id mapping of a task plus the EOS id. */
export class CharVocab {
  readonly chars: string;
  readonly eosId: number;
  readonly size: number;
  private readonly ids = new Map<string, number>();

  constructor(alphabet: string) {
    this.chars = alphabet;
    [...alphabet].forEach((c, i) => {
      if (this.ids.has(c)) throw new Error(`alphabet repeats ${JSON.stringify(c)}`);
      this.ids.set(c, i);
    });
    this.eosId = this.ids.size;
    this.size = this.ids.size + 1;
  }

  /** Ids of a string; a character outside the alphabet is an error naming it. */
  encode(text: string): number[] {
    return [...text].map((c) => {
      const id = this.ids.get(c);
      if (id === undefined) {
        throw new UserError(`character ${JSON.stringify(c)} is not in the vocab`);
      }
      return id;
    });
  }

  /** The string of some ids (EOS shown as `⏎`). */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      s += ids[i] === this.eosId ? "⏎" : this.chars[ids[i]] ?? "?";
    }
    return s;
  }
}

/**
 * Whether a prompt belongs to the validation split: a hash of (seed, prompt) below the fraction.
 * Membership depends on the prompt alone, so no problem is ever in both splits.
 */
export function inValidationSplit(prompt: string, seed: number, valFraction: number): boolean {
  return hashInts([seed, 0x5e11, fnv1a32(prompt)]) / 4294967296 < valFraction;
}

/** Most draws tried before giving up on finding an example of the wanted split. */
const MAX_SPLIT_TRIES = 10_000;

/**
 * Draws an example of the wanted split by rejection: an example of the other split is redrawn
 * from the same stream, so the result is still fixed by the stream's key.
 */
export function sampleInSplit(
  task: Task,
  rng: KeyedXoshiro128,
  split: "train" | "val",
  seed: number,
  valFraction: number,
): TaskSample {
  for (let i = 0; i < MAX_SPLIT_TRIES; i++) {
    const s = task.sample(rng);
    if (inValidationSplit(s.prompt, seed, valFraction) === (split === "val")) return s;
  }
  throw new UserError(
    `${task.name}: found no ${split} example in ${MAX_SPLIT_TRIES} draws (val_fraction ${valFraction})`,
  );
}

/** Reads an integer parameter within bounds, or throws a UserError naming it. */
export function intParam(
  params: TaskParams,
  key: string,
  fallback: number,
  task: string,
  min: number,
  max: number,
): number {
  const v = params[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new UserError(
      `${task}: parameter ${key} must be an integer in [${min}, ${max}], got ${v}`,
    );
  }
  return v;
}

/** Rejects parameter names a task does not know. */
export function checkKnownParams(params: TaskParams, known: string[], task: string): void {
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      throw new UserError(`${task}: unknown parameter "${key}" (expected ${known.join(", ")})`);
    }
  }
}

/** String tasks over random characters: copy, reverse, sort and histogram. */

import type { KeyedXoshiro128 } from "../../../util/random.ts";
import { checkKnownParams, intParam, type Task, type TaskParams } from "./task.ts";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const SEPARATOR = " :: ";

function randomString(rng: KeyedXoshiro128, chars: string, minLen: number, maxLen: number): string {
  const n = rng.int(minLen, maxLen);
  let s = "";
  for (let i = 0; i < n; i++) s += chars[rng.int(0, chars.length - 1)];
  return s;
}

function lengths(
  params: TaskParams,
  task: string,
  min: number,
  max: number,
  otherKeys: string[] = [],
) {
  checkKnownParams(params, ["min_len", "max_len", ...otherKeys], task);
  const minLen = intParam(params, "min_len", min, task, 1, 10_000);
  const maxLen = intParam(params, "max_len", max, task, minLen, 10_000);
  return { minLen, maxLen };
}

/** A task whose answer is a function of a random string: `s :: f(s)`. */
function stringTask(
  name: string,
  chars: string,
  extraAlphabet: string,
  minLen: number,
  maxLen: number,
  maxAnswer: number,
  answer: (s: string) => string,
): Task {
  return {
    name: `${name}(${minLen}..${maxLen})`,
    alphabet: chars + SEPARATOR[0] + SEPARATOR[1] + extraAlphabet,
    separator: SEPARATOR,
    maxLength: maxLen + SEPARATOR.length + maxAnswer,
    sample(rng: KeyedXoshiro128) {
      const s = randomString(rng, chars, minLen, maxLen);
      return { prompt: s + SEPARATOR, answer: answer(s) };
    },
  };
}

/** copy: n ~ U{10..60} characters from [a-zA-Z0-9], then the same string: `s :: s`. */
export function copy(params: TaskParams = {}): Task {
  const { minLen, maxLen } = lengths(params, "copy", 10, 60);
  return stringTask("copy", LOWER + UPPER + DIGITS, "", minLen, maxLen, maxLen, (s) => s);
}

/** reverse: lowercase letters and their reversal. */
export function reverse(params: TaskParams = {}): Task {
  const { minLen, maxLen } = lengths(params, "reverse", 5, 30);
  return stringTask("reverse", LOWER, "", minLen, maxLen, maxLen, (s) => [...s].reverse().join(""));
}

/** sort: lowercase letters and the same letters in alphabetical order. */
export function sort(params: TaskParams = {}): Task {
  const { minLen, maxLen } = lengths(params, "sort", 5, 30);
  return stringTask("sort", LOWER, "", minLen, maxLen, maxLen, (s) => [...s].sort().join(""));
}

/**
 * histogram: n ~ U{10..80} letters from [a-zA-Z]; for each position, how often its letter occurs
 * in the whole string: `abca :: [2, 1, 1, 2]`. `letters: k` draws from the first k of a–zA–Z
 * instead: with few letters most counts exceed 1, so "all ones" stops being a good answer.
 */
export function histogram(params: TaskParams = {}): Task {
  const { minLen, maxLen } = lengths(params, "histogram", 10, 80, ["letters"]);
  const letters = (LOWER + UPPER).slice(0, intParam(params, "letters", 52, "histogram", 1, 52));
  const countWidth = String(maxLen).length;
  // "[" + n counts of up to countWidth digits joined by ", " + "]"
  const maxAnswer = 2 + maxLen * countWidth + 2 * (maxLen - 1);
  return stringTask(
    letters.length === 52 ? "histogram" : `histogram[${letters.length} letters]`,
    letters,
    DIGITS + "[],",
    minLen,
    maxLen,
    maxAnswer,
    histogramOf,
  );
}

/** For each character of `s`, how often it occurs in `s`: `abca` → `[2, 1, 1, 2]`. */
export function histogramOf(s: string): string {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  return "[" + [...s].map((c) => counts.get(c)).join(", ") + "]";
}

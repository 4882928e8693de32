/** Arithmetic tasks: multi-digit multiplication and modular addition. */

import { UserError } from "../../../util/errors.ts";
import type { KeyedXoshiro128 } from "../../../util/random.ts";
import { checkKnownParams, intParam, type Task, type TaskParams } from "./task.ts";

const DIGITS = "0123456789";

type DigitOrder = "lsb" | "msb";
type MultiplicationFormat = "spaced" | "compact";

/** Digits of `n`, exactly `width` of them (zero padded), in the given order, joined by `joiner`. */
function orderedDigits(n: bigint, width: number, order: DigitOrder, joiner: string): string {
  const digits = n.toString().padStart(width, "0").split("");
  return (order === "lsb" ? digits.reverse() : digits).join(joiner);
}

/**
 * Multiplication of two `digits`-digit numbers (zero padded), written least-significant digit
 * first by default. `format: spaced` (the default, REFERENCE.md's) separates every character:
 * `9 1 7 3 * 9 4 3 3 #### 1 3 9 4 5 4 2 1` is 3719 × 3349 = 12454931. `format: compact` writes
 * the same problem as `9173*9433=13945421`: the same information in about half the tokens, so
 * a step costs half as much. The product always has 2·digits digits.
 */
export function multiplication(params: TaskParams = {}): Task {
  checkKnownParams(params, ["digits", "order", "format"], "multiplication");
  const digits = intParam(params, "digits", 2, "multiplication", 1, 20);
  const order = params.order ?? "lsb";
  if (order !== "lsb" && order !== "msb") {
    throw new UserError(`multiplication: parameter order must be "lsb" or "msb", got ${order}`);
  }
  const format = params.format ?? "spaced";
  if (format !== "spaced" && format !== "compact") {
    throw new UserError(
      `multiplication: parameter format must be "spaced" or "compact", got ${format}`,
    );
  }
  const example = (a: bigint, b: bigint) => multiplicationExample(a, b, digits, order, format);
  // every example has the same length: operands and product are zero padded
  const { prompt, answer } = example(0n, 0n);
  return {
    name: `multiplication(${digits}x${digits},${order}${format === "compact" ? ",compact" : ""})`,
    alphabet: DIGITS + (format === "spaced" ? " *#" : "*="),
    separator: format === "spaced" ? " #### " : "=",
    maxLength: prompt.length + answer.length,
    sample(rng: KeyedXoshiro128) {
      return example(randomDigits(rng, digits), randomDigits(rng, digits));
    },
  };
}

/** The example for a × b with `digits`-digit operands, e.g. 3719 × 3349 (4, lsb). */
export function multiplicationExample(
  a: bigint,
  b: bigint,
  digits: number,
  order: DigitOrder,
  format: MultiplicationFormat = "spaced",
): { prompt: string; answer: string } {
  const joiner = format === "spaced" ? " " : "";
  const number = (n: bigint, width: number) => orderedDigits(n, width, order, joiner);
  const prompt = format === "spaced"
    ? `${number(a, digits)} * ${number(b, digits)} #### `
    : `${number(a, digits)}*${number(b, digits)}=`;
  return { prompt, answer: number(a * b, 2 * digits) };
}

function randomDigits(rng: KeyedXoshiro128, count: number): bigint {
  let s = "";
  for (let i = 0; i < count; i++) s += DIGITS[rng.int(0, 9)];
  return BigInt(s);
}

/** a + b mod p (the grokking task): `12+85=0` for p = 97; operands uniform in [0, p). */
export function modular_addition(params: TaskParams = {}): Task {
  checkKnownParams(params, ["p"], "modular_addition");
  const p = intParam(params, "p", 97, "modular_addition", 2, 1_000_000);
  const width = String(p - 1).length;
  return {
    name: `modular_addition(p=${p})`,
    alphabet: DIGITS + "+=",
    separator: "=",
    maxLength: 3 * width + 2,
    sample(rng: KeyedXoshiro128) {
      const a = rng.int(0, p - 1);
      const b = rng.int(0, p - 1);
      return { prompt: `${a}+${b}=`, answer: String((a + b) % p) };
    },
  };
}

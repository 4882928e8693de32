/** Arithmetic tasks: multi-digit multiplication and modular addition. */

import { UserError } from "../../../util/errors.ts";
import type { Rng } from "../rng.ts";
import { checkKnownParams, intParam, type Task, type TaskParams } from "./task.ts";

const DIGITS = "0123456789";

/** Digits of `n`, exactly `width` of them (zero padded), space separated, in the given order. */
function spacedDigits(n: bigint, width: number, order: "lsb" | "msb"): string {
  const digits = n.toString().padStart(width, "0").split("");
  return (order === "lsb" ? digits.reverse() : digits).join(" ");
}

/**
 * Multiplication of two `digits`-digit numbers (zero padded), digits space separated and written
 * least-significant first by default: `9 1 7 3 * 9 4 3 3 #### 1 3 9 4 5 4 2 1` is
 * 3719 × 3349 = 12454931. The product always has 2·digits digits.
 */
export function multiplication(params: TaskParams = {}): Task {
  checkKnownParams(params, ["digits", "order"], "multiplication");
  const digits = intParam(params, "digits", 2, "multiplication", 1, 20);
  const order = params.order ?? "lsb";
  if (order !== "lsb" && order !== "msb") {
    throw new UserError(`multiplication: parameter order must be "lsb" or "msb", got ${order}`);
  }
  const operandChars = 2 * digits - 1;
  return {
    name: `multiplication(${digits}x${digits},${order})`,
    alphabet: DIGITS + " *#",
    separator: " #### ",
    maxLength: 2 * operandChars + 3 + 6 + (4 * digits - 1),
    sample(rng: Rng) {
      const a = randomDigits(rng, digits);
      const b = randomDigits(rng, digits);
      return multiplicationExample(a, b, digits, order);
    },
  };
}

/** The example for a × b with `digits`-digit operands, e.g. 3719 × 3349 (4, lsb). */
export function multiplicationExample(
  a: bigint,
  b: bigint,
  digits: number,
  order: "lsb" | "msb",
): { prompt: string; answer: string } {
  const prompt = `${spacedDigits(a, digits, order)} * ${spacedDigits(b, digits, order)} #### `;
  return { prompt, answer: spacedDigits(a * b, 2 * digits, order) };
}

function randomDigits(rng: Rng, count: number): bigint {
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
    sample(rng: Rng) {
      const a = rng.int(0, p - 1);
      const b = rng.int(0, p - 1);
      return { prompt: `${a}+${b}=`, answer: String((a + b) % p) };
    },
  };
}

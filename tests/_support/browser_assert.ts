/**
 * The part of `node:assert/strict` kiln's engine tests use, for running those same test files
 * in a browser (the browser bundle maps `node:assert/strict` here). Deep equality is structural
 * over arrays, typed arrays and plain objects, with Object.is on leaves, as in strict mode.
 */

class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x) => ArrayBuffer.isView(x) ? Array.from(x as never) : x);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && deepEqual(v, b.get(k)));
  }
  if (a instanceof Set && b instanceof Set) {
    return a.size === b.size && [...a].every((v) => b.has(v));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

type ErrorCheck =
  | RegExp
  | ((err: Error) => boolean)
  | (new (...args: never[]) => Error)
  | { message?: RegExp | string };

function isErrorClass(f: unknown): f is new (...args: never[]) => Error {
  return typeof f === "function" && (f === Error || f.prototype instanceof Error);
}

function checkError(err: unknown, expected: ErrorCheck | undefined, message?: string): void {
  if (expected === undefined) return;
  const e = err as Error;
  const ok = expected instanceof RegExp
    ? expected.test(String(e?.message ?? e))
    : isErrorClass(expected)
    ? e instanceof expected
    : typeof expected === "function"
    ? (expected as (err: Error) => boolean)(e)
    : expected.message instanceof RegExp
    ? expected.message.test(e.message)
    : expected.message === undefined || expected.message === e.message;
  if (!ok) throw new AssertionError(message ?? `unexpected error: ${e?.message ?? e}`);
}

function ok(value: unknown, message?: string): asserts value {
  if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
}

const assert = Object.assign(ok, {
  ok,
  equal(actual: unknown, expected: unknown, message?: string) {
    if (!Object.is(actual, expected)) {
      throw new AssertionError(message ?? `${show(actual)} !== ${show(expected)}`);
    }
  },
  notEqual(actual: unknown, expected: unknown, message?: string) {
    if (Object.is(actual, expected)) throw new AssertionError(message ?? `both ${show(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown, message?: string) {
    if (!deepEqual(actual, expected)) {
      throw new AssertionError(message ?? `${show(actual)} does not deep-equal ${show(expected)}`);
    }
  },
  notDeepEqual(actual: unknown, expected: unknown, message?: string) {
    if (deepEqual(actual, expected)) {
      throw new AssertionError(message ?? `deep-equal ${show(actual)}`);
    }
  },
  match(actual: string, re: RegExp, message?: string) {
    if (!re.test(actual)) {
      throw new AssertionError(message ?? `${show(actual)} does not match ${re}`);
    }
  },
  throws(fn: () => unknown, expected?: ErrorCheck, message?: string) {
    try {
      fn();
    } catch (err) {
      checkError(err, expected, message);
      return;
    }
    throw new AssertionError(message ?? "Missing expected exception.");
  },
  async rejects(
    fn: (() => Promise<unknown>) | Promise<unknown>,
    expected?: ErrorCheck,
    message?: string,
  ) {
    try {
      await (typeof fn === "function" ? fn() : fn);
    } catch (err) {
      checkError(err, expected, message);
      return;
    }
    throw new AssertionError(message ?? "Missing expected rejection.");
  },
});

export default assert;

import assert from "node:assert/strict";
import { Process } from "../../../src/data/synthetic/process.ts";
import { createProcess, processes, processNames } from "../../../src/data/synthetic/processes.ts";
import { UserError } from "../../../src/util/errors.ts";

function close(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("mess3(0.05, 0.85) matrices, summed matrix and stationary law match REFERENCE.md", () => {
  const p = processes.mess3({ x: 0.05, a: 0.85 });
  close(
    p.matrices[0],
    [.765, .00375, .00375, .0425, .0675, .00375, .0425, .00375, .0675],
    1e-15,
    "T0",
  );
  // T^1 is T^0 with states 0 and 1 swapped
  close(
    p.matrices[1],
    [.0675, .0425, .00375, .00375, .765, .00375, .00375, .0425, .0675],
    1e-15,
    "T1",
  );
  close(p.summedMatrix(), [.9, .05, .05, .05, .9, .05, .05, .05, .9], 1e-15, "A");
  close(p.stationary, [1 / 3, 1 / 3, 1 / 3], 1e-15, "pi");
});

Deno.test("mess3 beliefs and probabilities reproduce the REFERENCE.md test vectors", () => {
  const p = processes.mess3({ x: 0.05, a: 0.85 });
  const table: [number[], number, number[], number[]][] = [
    [[0], 0.33333333, [0.85, 0.075, 0.075], [0.6736875, 0.16315625, 0.16315625]],
    [[0, 0], 0.22456250, [0.97467298, 0.01266351, 0.01266351], [
      0.75581582,
      0.12209209,
      0.12209209,
    ]],
    [[0, 1], 0.05438542, [0.35510439, 0.59260678, 0.05228883], [
      0.34767501,
      0.50412972,
      0.14819527,
    ]],
    [[0, 1, 2], 0.00805966, [0.17806172, 0.28022947, 0.54170881], [
      0.23104816,
      0.29835117,
      0.47060068,
    ]],
    [[2, 2, 2], 0.16972789, [0.00602964, 0.00602964, 0.98794072], [
      0.11772203,
      0.11772203,
      0.76455595,
    ]],
  ];
  for (const [prefix, prob, belief, next] of table) {
    const what = `prefix ${prefix}`;
    assert.ok(Math.abs(p.sequenceProbability(prefix) - prob) < 6e-9, `${what} probability`);
    const b = p.beliefAfter(prefix);
    close(b, belief, 6e-9, `${what} belief`);
    close(p.nextTokenProbs(b), next, 6e-9, `${what} next`);
  }
});

Deno.test("stationary laws of the other built-ins (periodic chains included)", () => {
  close(processes.zero_one_random({ p: 0.5 }).stationary, [1 / 3, 1 / 3, 1 / 3], 1e-12, "z1r");
  close(processes.rrxor({}).stationary, [1 / 3, 1 / 6, 1 / 6, 1 / 6, 1 / 6], 1e-12, "rrxor");
  close(processes.no_consecutive_ones({ p: 0.5 }).stationary, [2 / 3, 1 / 3], 1e-12, "golden");
  close(processes.coin({ p: 0.3 }).nextTokenProbs([1]), [0.3, 0.7], 1e-15, "coin");
});

Deno.test("even_ones stationary law solves pi A = pi for p = 0.3", () => {
  // A = [[q, p], [1, 0]]; pi = (1, p) / (1 + p)
  close(processes.even_ones({ p: 0.3 }).stationary, [1 / 1.3, 0.3 / 1.3], 1e-12, "pi");
});

Deno.test("invalid matrices are rejected with a message naming the row", () => {
  assert.throws(
    () => new Process({ name: "bad", matrices: [[[0.5, 0.5], [0.2, 0.2]], [[0, 0], [0.3, 0.2]]] }),
    (e: unknown) =>
      e instanceof UserError &&
      /row 1 of the summed transition matrix sums to 0\.9/.test(e.message),
  );
  assert.throws(
    () => new Process({ name: "neg", matrices: [[[1.2, -0.2], [0.5, 0.5]], [[0, 0], [0, 0]]] }),
    (e: unknown) => e instanceof UserError && /token 0 row 0 has a negative entry/.test(e.message),
  );
  assert.throws(
    () => new Process({ name: "shape", matrices: [[[1, 0], [0, 1]], [[0], [0]]] }),
    (e: unknown) =>
      e instanceof UserError && /token 1 row 0 has 1 entries, expected 2/.test(e.message),
  );
  assert.throws(
    () => new Process({ name: "reducible", matrices: [[[1, 0], [0, 0]], [[0, 0], [0, 1]]] }),
    (e: unknown) => e instanceof UserError && /no unique stationary/.test(e.message),
  );
});

Deno.test("a generalized HMM with a normalizer: probabilities through v, bad v rejected", () => {
  // The coin process written in a basis where states are not probabilities: S = M T M^-1
  // with M = [[1, 1], [0, 2]] on a 2-state i.i.d. chain, v = M·1.
  const base = [[[0.15, 0.15], [0.15, 0.15]], [[0.35, 0.35], [0.35, 0.35]]];
  const m = [[1, 1], [0, 2]];
  const mInv = [[1, -0.5], [0, 0.5]];
  const mul = (a: number[][], b: number[][]) =>
    a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
  const matrices = base.map((t) => mul(mul(m, t), mInv));
  const g = new Process({ name: "ghmm", matrices, normalizer: [2, 2] });
  assert.equal(g.isHmm, false);
  close(g.nextTokenProbs(g.stationary), [0.3, 0.7], 1e-12, "P(k)");
  assert.ok(Math.abs(g.sequenceProbability([0, 1, 1]) - 0.3 * 0.7 * 0.7) < 1e-12);
  assert.throws(
    () => new Process({ name: "ghmm", matrices, normalizer: [1, 3] }),
    (e: unknown) =>
      e instanceof UserError && /row 1 of \(summed matrix · normalizer\)/.test(e.message),
  );
});

Deno.test("registry: lookup by name, defaults, unknown names and parameters", () => {
  assert.deepEqual(processNames(), [
    "coin",
    "custom",
    "even_ones",
    "mess3",
    "no_consecutive_ones",
    "rrxor",
    "zero_one_random",
  ]);
  assert.equal(createProcess("mess3").name, "mess3(x=0.05,a=0.85)");
  assert.equal(createProcess("rrxor", { p1: 0.3 }).name, "rrxor(p1=0.3,p2=0.5)");
  assert.throws(
    () => createProcess("mess4"),
    (e: unknown) =>
      e instanceof UserError && /unknown process "mess4"; known: coin, custom/.test(e.message),
  );
  assert.throws(
    () => createProcess("mess3", { y: 1 }),
    (e: unknown) => e instanceof UserError && /unknown parameter "y"/.test(e.message),
  );
  assert.throws(
    () => createProcess("coin", { p: 1.5 }),
    (e: unknown) => e instanceof UserError && /probability/.test(e.message),
  );
  const c = createProcess("custom", { name: "mine", matrices: [[[0.25]], [[0.75]]] });
  close(c.nextTokenProbs(c.stationary), [0.25, 0.75], 1e-15, "custom");
});

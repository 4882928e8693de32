import assert from "node:assert/strict";
import { expandSweep, sweepId } from "../../src/config/sweep.ts";
import { randomPoints } from "../../src/config/sweep_random.ts";
import { UserError } from "../../src/util/errors.ts";
import { Mulberry32 } from "../../src/util/random.ts";

const BASE = { seed: 1, training: { learning_rate: 0.001, batch_size: 8 } };

Deno.test("random search: the same seed gives the same points, another seed others", () => {
  const spec = {
    method: "random",
    samples: 20,
    seed: 3,
    training: { learning_rate: { log_uniform: [1e-4, 1e-2] }, batch_size: { int: [4, 6] } },
  };
  const a = randomPoints(spec, BASE), b = randomPoints(structuredClone(spec), BASE);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, randomPoints({ ...spec, seed: 4 }, BASE));
  assert.equal(a.length, 20);
  for (const p of a) {
    const lr = p["training.learning_rate"] as number, bs = p["training.batch_size"] as number;
    assert.ok(lr >= 1e-4 && lr < 1e-2);
    assert.ok([4, 5, 6].includes(bs));
  }
  // Every integer of an inclusive range turns up in 20 draws of 3 values.
  assert.deepEqual([...new Set(a.map((p) => p["training.batch_size"]))].sort(), [4, 5, 6]);
});

Deno.test("random search: draws follow the documented stream (leaf order, one Mulberry32)", () => {
  const points = randomPoints({
    method: "random",
    samples: 2,
    seed: 11,
    training: { learning_rate: { uniform: [0.5, 1.5] }, batch_size: { choice: [2, 4, 8, 16] } },
    model: { d_model: { log_uniform: [16, 256] } },
  }, BASE);
  const rng = new Mulberry32(11);
  const expected = [0, 1].map(() => ({
    "training.learning_rate": 0.5 + rng.next(),
    "training.batch_size": [2, 4, 8, 16][Math.floor(rng.next() * 4)],
    "model.d_model": Math.exp(Math.log(16) + (Math.log(256) - Math.log(16)) * rng.next()),
  }));
  assert.deepEqual(points, expected);
});

Deno.test("random search: a config seed swept as a list is an axis, not the search seed", () => {
  const raw = {
    ...structuredClone(BASE),
    sweep: { method: "random", samples: 3, seed: { choice: [7, 8] } },
  };
  const points = expandSweep(raw).map((p) => p.raw.seed);
  assert.ok(points.every((s) => s === 7 || s === 8));
});

Deno.test("random search: bad distributions are one-line UserErrors naming the key", () => {
  const bad: [unknown, RegExp][] = [
    [{ log_uniform: [0, 1] }, /learning_rate: log_uniform needs 0 < a < b, found \[0, 1\]/],
    [{ uniform: [2, 1] }, /uniform needs a < b/],
    [{ uniform: [1] }, /uniform needs \[a, b\] \(two numbers\)/],
    [{ int: [1.5, 3] }, /int needs integers a <= b/],
    [{ choice: [] }, /empty list of values/],
    [{ normal: [0, 1] }, /unknown distribution "normal"/],
  ];
  for (const [dist, pattern] of bad) {
    const spec = { method: "random", samples: 2, training: { learning_rate: dist } };
    assert.throws(() => randomPoints(spec, BASE), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, pattern);
      assert.equal(e.message.split("\n").length, 1);
      return true;
    });
  }
  assert.throws(
    () => randomPoints({ method: "random", training: { learning_rate: [1, 2] } }, BASE),
    /sweep\.samples: method random needs samples/,
  );
  assert.throws(
    () => expandSweep({ ...BASE, sweep: { training: { learning_rate: { uniform: [0, 1] } } } }),
    /distributions need sweep\.method: random/,
  );
  assert.throws(() => expandSweep({ ...BASE, sweep: { method: "bayes" } }), /grid or random/);
});

Deno.test("sweep ids: fixed by content, whatever the key order; null without a sweep", () => {
  const a = { experiment_name: "e", seed: 1, sweep: { seed: [1, 2] } };
  const b = { sweep: { seed: [1, 2] }, seed: 1, experiment_name: "e" };
  assert.equal(sweepId(a), sweepId(b));
  assert.match(sweepId(a)!, /^e-[0-9a-f]{12}$/);
  assert.notEqual(sweepId(a), sweepId({ ...a, sweep: { seed: [1, 3] } }));
  assert.equal(sweepId({ experiment_name: "e" }), null);
  // Grid with an explicit method: the same points as without.
  assert.deepEqual(
    expandSweep({ ...a, sweep: { method: "grid", seed: [1, 2] } }).map((p) => p.point),
    [{ seed: 1 }, { seed: 2 }],
  );
});

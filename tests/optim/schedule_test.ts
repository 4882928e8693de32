import assert from "node:assert/strict";
import { learningRate, type LrSchedule } from "../../src/optim/schedule.ts";

const close = (a: number, b: number) =>
  assert.ok(Math.abs(a - b) <= 1e-15 + 1e-12 * Math.abs(b), `${a} vs ${b}`);

Deno.test("cosine schedule follows nanoGPT's get_lr", () => {
  // shakespeare_char: lr 1e-3 → 1e-4, warmup 100, decay over 5000.
  const s: LrSchedule = { lr: 1e-3, minLr: 1e-4, warmupSteps: 100, totalSteps: 5000 };
  close(learningRate(0, s), 1e-3 / 101);
  close(learningRate(99, s), 1e-3 * 100 / 101);
  close(learningRate(100, s), 1e-3);
  close(learningRate(2550, s), 1e-4 + 0.5 * (1e-3 - 1e-4)); // halfway: cos(π/2) = 0
  close(learningRate(5000, s), 1e-4);
  close(learningRate(9000, s), 1e-4);
  // Monotone after warmup.
  for (let t = 100; t < 5000; t += 97) assert.ok(learningRate(t + 1, s) <= learningRate(t, s));
});

Deno.test("linear and constant decays, and no warmup", () => {
  const lin: LrSchedule = { lr: 2, minLr: 1, warmupSteps: 0, totalSteps: 10, decay: "linear" };
  close(learningRate(0, lin), 2);
  close(learningRate(5, lin), 1.5);
  close(learningRate(10, lin), 1);
  close(learningRate(11, lin), 1);
  const flat: LrSchedule = { lr: 3e-4, warmupSteps: 4, totalSteps: 10, decay: "constant" };
  close(learningRate(1, flat), 3e-4 * 2 / 5);
  close(learningRate(4, flat), 3e-4);
  close(learningRate(1000, flat), 3e-4);
});

Deno.test("schedule rejects a bad step or decay name", () => {
  const s: LrSchedule = { lr: 1, totalSteps: 10 };
  assert.throws(() => learningRate(-1, s), /non-negative/);
  assert.throws(
    () => learningRate(1, { ...s, decay: "exp" as LrSchedule["decay"] }),
    /unknown decay "exp"/,
  );
});

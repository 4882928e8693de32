import assert from "node:assert/strict";
import { intFlag, numberFlag } from "../../src/cli/run.ts";
import { UserError } from "../../src/util/errors.ts";

function userError(pattern: RegExp) {
  return (e: Error) => e instanceof UserError && pattern.test(e.message);
}

Deno.test("intFlag / numberFlag: parse, fall back, or name the flag in a UserError", () => {
  assert.equal(intFlag("steps", "12"), 12);
  assert.equal(intFlag("steps", undefined, 5), 5);
  assert.equal(numberFlag("lr", "3e-4"), 3e-4);
  assert.equal(numberFlag("lr", undefined, 0.5), 0.5);
  assert.throws(
    () => intFlag("steps", "1.5"),
    userError(/^--steps: expected an integer, found "1.5"$/),
  );
  assert.throws(
    () => numberFlag("lr", "fast"),
    userError(/^--lr: expected a number, found "fast"$/),
  );
  assert.throws(() => numberFlag("lr", "Infinity"), userError(/expected a number/));
  assert.throws(() => intFlag("steps", undefined), userError(/^--steps is required$/));
});

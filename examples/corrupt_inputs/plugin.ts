/**
 * Example 6 — corrupt the inputs (never the targets): each input token is replaced by a random id
 * with probability `training.extra.corruption_frac` (0: the plain run, bit for bit).
 *
 *   deno task train --config examples/corrupt_inputs/config.yaml \
 *     --import examples/corrupt_inputs/plugin.ts
 *
 * `transformBatch` gets an rng seeded by (seed, micro-batch index): exact resume holds.
 */

import { registerTrainingExtra, registerTrainingHooks, z } from "../../mod.ts";

registerTrainingExtra(
  "corrupt_inputs",
  z.object({ corruption_frac: z.number().min(0).max(1).default(0) }),
);

registerTrainingHooks({
  transformBatch: (batch, { config, rng }) => {
    const p = config.training.extra.corruption_frac as number;
    if (p === 0) return batch;
    for (let i = 0; i < batch.inputs.length; i++) {
      if (rng.bernoulli(p)) batch.inputs[i] = rng.int(config.model.vocab_size);
    }
    return batch;
  },
});

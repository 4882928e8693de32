/**
 * Example 5 — freeze a random subset of the blocks at every step: block i is frozen for the step
 * with probability `training.extra.freeze_prob` (0: nothing frozen, the plain run bit for bit).
 * Frozen means frozen: no gradient, no AdamW update, no moment decay, no weight decay.
 *
 *   deno task train --config examples/random_freeze/config.yaml \
 *     --import examples/random_freeze/plugin.ts
 *
 * The hook's `rng` is seeded by (seed, step), so a resumed run freezes the same blocks.
 */

import { registerTrainingExtra, registerTrainingHooks, z } from "../../mod.ts";

registerTrainingExtra(
  "random_freeze",
  z.object({ freeze_prob: z.number().min(0).max(1).default(0) }),
);

registerTrainingHooks({
  beforeStep: ({ model, config, rng }) => {
    const p = config.training.extra.freeze_prob as number;
    if (p === 0) return;
    for (let i = 0; i < config.model.n_layer; i++) {
      model.params.setTrainable(`h.${i}.*`, !rng.bernoulli(p));
    }
  },
});

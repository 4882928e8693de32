/**
 * Example 7 — log the largest parameter value every N steps (`training.extra.max_param_every`,
 * a multiple of `training.log_every`; 0 = off) as `max_param` in metrics.jsonl, charted by the
 * visualizer like any train field. Logging reads the weights; it never changes the run.
 *
 *   deno task train --config examples/log_max_param/config.yaml \
 *     --import examples/log_max_param/plugin.ts
 */

import { registerTrainingExtra, registerTrainingHooks, z } from "../../mod.ts";

registerTrainingExtra(
  "log_max_param",
  z.object({ max_param_every: z.number().int().nonnegative().default(0) }),
);

registerTrainingHooks({
  metrics: async ({ step, model, config }): Promise<Record<string, number>> => {
    const every = config.training.extra.max_param_every as number;
    if (every === 0 || step % every !== 0) return {};
    let max = -Infinity;
    for (const values of (await model.params.read()).values()) {
      for (const v of values) if (v > max) max = v;
    }
    return { max_param: max };
  },
});

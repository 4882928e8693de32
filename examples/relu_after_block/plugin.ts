/**
 * Example 1 — a ReLU after the first transformer block, switched by a new model key.
 *
 *   deno task train --config examples/relu_after_block/config.yaml \
 *     --import examples/relu_after_block/plugin.ts
 *
 * `model.inject_relu` is validated, defaulted (false: the plain GPT, bit for bit), overridable
 * (`model.inject_relu=true`) and swept (the config sweeps it over [true, false]).
 */

import {
  type Block,
  GPT,
  type ParamBuilder,
  registerModel,
  type ResolvedConfig,
  z,
} from "../../mod.ts";
import { ops } from "../../mod.ts";

class ReluGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    const block = super.createBlock(pb, prefix, cfg);
    if (prefix === "h.0" && cfg.inject_relu === true) {
      const forward = block.forward.bind(block);
      block.forward = (x, ctx) => ops.relu(forward(x, ctx));
    }
    return block;
  }
}

registerModel("relu_gpt", (dev, cfg, opts) => new ReluGPT(dev, cfg, opts), {
  configSchema: z.object({ inject_relu: z.boolean().default(false) }),
});

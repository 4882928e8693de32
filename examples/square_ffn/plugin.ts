/**
 * Example 2 — square the feed-forward output of every block: x + mlp(ln_2(x))² .
 *
 *   deno task train --config examples/square_ffn/config.yaml --import examples/square_ffn/plugin.ts
 *
 * `model.square_ffn: false` is the plain GPT, bit for bit.
 */

import {
  type Block,
  GPT,
  ops,
  type ParamBuilder,
  registerModel,
  type ResolvedConfig,
  z,
} from "../../mod.ts";

class SquareFfnGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    const block = super.createBlock(pb, prefix, cfg);
    if (cfg.square_ffn === true) {
      const mlp = block.mlp.forward.bind(block.mlp);
      block.mlp.forward = (x, ctx) => {
        const y = mlp(x, ctx);
        return ops.mul(y, y);
      };
    }
    return block;
  }
}

registerModel("square_ffn_gpt", (dev, cfg, opts) => new SquareFfnGPT(dev, cfg, opts), {
  configSchema: z.object({ square_ffn: z.boolean().default(false) }),
});

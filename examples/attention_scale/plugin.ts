/**
 * Example 3 — multiply the attention scores by a scalar: softmax(s · q·kᵀ/√D) v.
 *
 *   deno task train --config examples/attention_scale/config.yaml \
 *     --import examples/attention_scale/plugin.ts
 *
 * The config sweeps `model.attn_scale` over [1, 2, 3]; 1 is the plain GPT, bit for bit. The scale
 * reaches the fused kernel, the attention maps and the entropy diagnostic (`observeAttention`).
 */

import {
  Block,
  CausalSelfAttention,
  type ForwardContext,
  GPT,
  ops,
  type ParamBuilder,
  registerModel,
  type ResolvedConfig,
  type Tensor,
  z,
} from "../../mod.ts";

class ScaledAttention extends CausalSelfAttention {
  override forward(x: Tensor, ctx: ForwardContext): Tensor {
    const [query, key, value] = this.cAttn.forwardSplit(x, 3);
    const { keys, values } = ctx.keysValues(key, value);
    const [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, this.cfg.n_head));
    const scale = (this.cfg.attn_scale as number) / Math.sqrt(q.shape[3]);
    ctx.observeAttention(q, k, scale);
    const y = ops.attention(q, k, v, { causal: true, scale });
    return ctx.drop(this.cProj.forward(ops.mergeHeads(y)));
  }
}

class ScaledBlock extends Block {
  protected override createAttention(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
    return new ScaledAttention(pb, prefix, cfg);
  }
}

class ScaledGPT extends GPT {
  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    if (cfg.positional === "rope") throw new Error("attn_scale_gpt: learned positions only");
    return new ScaledBlock(pb, prefix, cfg);
  }
}

registerModel("attn_scale_gpt", (dev, cfg, opts) => new ScaledGPT(dev, cfg, opts), {
  configSchema: z.object({ attn_scale: z.number().positive().default(1) }),
});

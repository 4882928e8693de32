/**
 * Example 4 — multiply the attention scores by `attn_scale`, but only when the batch contains
 * the token id `trigger_token` (default 10). The test runs on the GPU, without a readback:
 * flag = max(ids == trigger) is a scalar tensor and `where(flag, scaled, plain)` picks.
 *
 *   deno task train --config examples/attention_scale_on_token/config.yaml \
 *     --import examples/attention_scale_on_token/plugin.ts
 *
 * `model.attn_scale: 1` is the plain GPT, bit for bit.
 */

import {
  Block,
  CausalSelfAttention,
  type ForwardContext,
  type ForwardOptions,
  GPT,
  ops,
  type ParamBuilder,
  registerModel,
  type ResolvedConfig,
  type Tensor,
  z,
} from "../../mod.ts";

class TokenScaledGPT extends GPT {
  /** The ids of the forward being run, read by the attention layers. */
  ids: Tensor | null = null;

  override forward(ids: Tensor, opts?: ForwardOptions) {
    this.ids = ids;
    return super.forward(ids, opts);
  }

  protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig): Block {
    const currentIds = () => this.ids!;
    class Attention extends CausalSelfAttention {
      override forward(x: Tensor, ctx: ForwardContext): Tensor {
        const [query, key, value] = this.cAttn.forwardSplit(x, 3);
        const { keys, values } = ctx.keysValues(key, value);
        const [q, k, v] = [query, keys, values].map((y) => ops.splitHeads(y, cfg.n_head));
        let y = ops.attention(q, k, v, { causal: true });
        const s = cfg.attn_scale as number;
        if (s !== 1) {
          const scaled = ops.attention(q, k, v, { causal: true, scale: s / Math.sqrt(q.shape[3]) });
          const flag = ops.max(ops.eq(currentIds(), cfg.trigger_token as number)); // [] 0 or 1
          y = ops.where(flag, scaled, y);
        }
        return ctx.drop(this.cProj.forward(ops.mergeHeads(y)));
      }
    }
    return new (class extends Block {
      protected override createAttention(pb: ParamBuilder, prefix: string) {
        return new Attention(pb, prefix, cfg);
      }
    })(pb, prefix, cfg);
  }
}

registerModel("token_scale_gpt", (dev, cfg, opts) => new TokenScaledGPT(dev, cfg, opts), {
  configSchema: z.object({
    attn_scale: z.number().positive().default(1),
    trigger_token: z.number().int().nonnegative().default(10),
  }),
});

import assert from "node:assert/strict";
import {
  countGptParams,
  type GPTConfig,
  gptFlopsPerToken,
  resolveConfig,
} from "../../src/nn/gpt_config.ts";
import { UserError } from "../../src/util/errors.ts";
import { gptConfig } from "../_support/gpt.ts";

const gpt2Small = gptConfig({
  vocab_size: 50257,
  max_seq_len: 1024,
  n_layer: 12,
  n_head: 12,
  d_model: 768,
});

Deno.test("GPT-2 small has 124,439,808 parameters (Hugging Face's count), sized without allocating", () => {
  assert.equal(countGptParams(gpt2Small), 124_439_808);
});

Deno.test("untied head, RoPE and no-bias variants change the count by the closed-form amounts", () => {
  assert.equal(countGptParams({ ...gpt2Small, tie_embeddings: false }), 124_439_808 + 50257 * 768);
  assert.equal(countGptParams({ ...gpt2Small, positional: "rope" }), 124_439_808 - 1024 * 768);
  // nanoGPT shakespeare_char (bias=False): nanoGPT prints 10.65M, which excludes wpe (256·384).
  const shakespeare: GPTConfig = {
    ...gpt2Small,
    vocab_size: 65,
    max_seq_len: 256,
    n_layer: 6,
    n_head: 6,
    d_model: 384,
    bias: false,
  };
  assert.equal(countGptParams(shakespeare) - 256 * 384, 10_646_784);
  // d_ffn is honoured: two matrices of d·f plus the c_fc bias of f.
  const narrow = countGptParams({ ...gpt2Small, d_ffn: 1024 });
  assert.equal(124_439_808 - narrow, 12 * (2 * 768 * (3072 - 1024) + (3072 - 1024)));
});

Deno.test("FLOPs per token: 6N + 12·L·d·T with N = matmul weights including the tied head", () => {
  const n = 12 * 12 * 768 * 768 + 50257 * 768;
  assert.equal(gptFlopsPerToken(gpt2Small, 1024), 6 * n + 12 * 12 * 768 * 1024);
});

Deno.test("bad model shapes are one-line UserErrors naming the key", () => {
  const bad: [Partial<GPTConfig>, RegExp][] = [
    [{ n_head: 5 }, /d_model \(768\) must be divisible by model.n_head \(5\)/],
    [{ n_layer: 0 }, /model.n_layer: expected a positive integer, found 0/],
    [{ d_model: 6, n_head: 2, positional: "rope" }, /rope needs an even head size, found 3/],
    [{ dropout: 1 }, /model.dropout/],
    [{ positional: "alibi" as "rope" }, /model.positional: expected learned or rope, found alibi/],
  ];
  for (const [patch, pattern] of bad) {
    assert.throws(() => resolveConfig({ ...gpt2Small, ...patch }), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.equal(resolveConfig(gpt2Small).d_ffn, 3072);
  assert.equal(resolveConfig(gpt2Small).residualStd, 0.02 / Math.sqrt(24));
  assert.equal(resolveConfig({ ...gpt2Small, init_std: 0.04 }).residualStd, 0.04 / Math.sqrt(24));
  assert.equal(resolveConfig({ ...gpt2Small, init: "pytorch" }).residualStd, 0.02);
  assert.throws(
    () => resolveConfig({ ...gpt2Small, init_std: -1 }),
    /model.init_std: expected a positive/,
  );
});

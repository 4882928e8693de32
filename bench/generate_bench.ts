/**
 * Generation speed with the KV cache vs recomputing the whole window for every token (nanoGPT's
 * `generate`), same model, same adapter, same process, alternating the two. Both read one row of
 * logits back per token (sampling happens on the CPU), so on lavapipe the ~11 ms readback floor
 * bounds the cached path.
 *
 * `deno run -A bench/generate_bench.ts` prints tokens/s and the ratio per shape; `deno bench -A
 * bench/generate_bench.ts` runs the small shape through Deno's bench harness.
 */

import { generate } from "../src/eval/generate.ts";
import { Device } from "../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../src/nn/gpt.ts";
import { fileTuneCache } from "../src/util/tune_cache_file.ts";

const dev = await Device.open({ tuneCache: fileTuneCache() });

/** nanoGPT's CPU-sized shakespeare_char model, and the GPU-sized one at a longer window. */
const SHAPES: { label: string; cfg: GPTConfig; prompt: number; tokens: number }[] = [
  {
    label: "4L 4H d128 ctx64",
    cfg: model({ n_layer: 4, n_head: 4, d_model: 128, max_seq_len: 64 }),
    prompt: 8,
    tokens: 48,
  },
  {
    label: "6L 6H d384 ctx256",
    cfg: model({ n_layer: 6, n_head: 6, d_model: 384, max_seq_len: 256 }),
    prompt: 128,
    tokens: 32,
  },
];

function model(shape: Pick<GPTConfig, "n_layer" | "n_head" | "d_model" | "max_seq_len">) {
  return {
    name: "gpt" as const,
    vocab_size: 65,
    dropout: 0,
    bias: true,
    tie_embeddings: true,
    positional: "learned" as const,
    ...shape,
  };
}

async function tokensPerSecond(gpt: GPT, prompt: number[], tokens: number, useCache: boolean) {
  const t0 = performance.now();
  const r = await generate(gpt, prompt, { temperature: 0, maxNewTokens: tokens, useCache });
  return r.ids.length / ((performance.now() - t0) / 1000);
}

async function compare(): Promise<void> {
  console.log(`adapter: ${dev.description}`);
  for (const s of SHAPES) {
    const gpt = new GPT(dev, s.cfg, { seed: 1 });
    const prompt = Array.from({ length: s.prompt }, (_, i) => (i * 7) % 65);
    await tokensPerSecond(gpt, prompt, 4, true); // warm up pipelines
    await tokensPerSecond(gpt, prompt, 4, false);
    const cached: number[] = [];
    const full: number[] = [];
    for (let round = 0; round < 2; round++) {
      cached.push(await tokensPerSecond(gpt, prompt, s.tokens, true));
      full.push(await tokensPerSecond(gpt, prompt, s.tokens, false));
    }
    const best = (xs: number[]) => Math.max(...xs);
    console.log(
      `${s.label}, prompt ${s.prompt}, ${s.tokens} new tokens: KV cache ` +
        `${best(cached).toFixed(1)} tok/s, recompute ${best(full).toFixed(1)} tok/s, ` +
        `×${(best(cached) / best(full)).toFixed(2)}`,
    );
    gpt.params.destroy();
  }
}

if (import.meta.main) {
  await compare();
} else {
  const s = SHAPES[0];
  const gpt = new GPT(dev, s.cfg, { seed: 1 });
  const prompt = Array.from({ length: s.prompt }, (_, i) => (i * 7) % 65);
  const group = "generate";
  Deno.bench({ name: `recompute ${s.label}`, group, baseline: true, n: 3, warmup: 1 }, async () => {
    await generate(gpt, prompt, { temperature: 0, maxNewTokens: 16, useCache: false });
  });
  Deno.bench({ name: `KV cache ${s.label}`, group, n: 3, warmup: 1 }, async () => {
    await generate(gpt, prompt, { temperature: 0, maxNewTokens: 16 });
  });
}

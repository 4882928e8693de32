/**
 * PyTorch parity of the GPT: a tiny GPT's initial weights and one batch go to gpt_reference.py
 * (plain PyTorch, same math) through the shared protocol in _parity.ts.
 */

import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import { hasPyTorch, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";
import { checkParity } from "./_parity.ts";

const SCRIPT = new URL("./gpt_reference.py", import.meta.url).pathname;
const available = (await hasPyTorch()) && (await hasWebGpuAdapter());
const base = gptConfig({
  vocab_size: 61,
  max_seq_len: 16,
  n_layer: 2,
  n_head: 2,
  d_model: 32,
});

/** A fixed pseudo-random batch; a few targets are -1 (ignored). */
function makeBatch(cfg: GPTConfig, batch: number, seqLen: number) {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % cfg.vocab_size;
  const ids = Int32Array.from({ length: batch * seqLen }, next);
  const targets = Int32Array.from(
    { length: batch * seqLen },
    (_, i) => (i % 7 === 3 ? -1 : next()),
  );
  return { ids, targets };
}

async function checkGptParity(cfg: GPTConfig): Promise<void> {
  const dev = await Device.open();
  try {
    const [batch, seqLen] = [3, cfg.max_seq_len];
    const model = new GPT(dev, cfg, { seed: 42 });
    const { ids, targets } = makeBatch(cfg, batch, seqLen);
    await checkParity({ model, config: cfg, script: SCRIPT, ids, targets, batch, seqLen });
  } finally {
    dev.destroy();
  }
}

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: GPT (learned positions, tied head) matches PyTorch",
  async () => {
    await checkGptParity(base);
  },
);

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: GPT (RoPE, untied head, no bias, d_ffn 48) matches PyTorch",
  async () => {
    await checkGptParity({
      ...base,
      positional: "rope",
      tie_embeddings: false,
      bias: false,
      d_ffn: 48,
    });
  },
);

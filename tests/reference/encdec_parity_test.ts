/**
 * PyTorch parity of the encoder–decoders: `encdec` and `latent_encdec` (pure bottleneck and
 * factor 0.25) with kiln's initial weights and a batch whose sources are padded go to
 * encdec_reference.py (plain PyTorch, masks by masked_fill(-inf)); its decoder logits, loss,
 * gradients and 10 AdamW-step losses are the truth (the shared protocol in _parity.ts).
 */

import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { EncoderDecoder } from "../../src/nn/encdec.ts";
import type { GPTConfig } from "../../src/nn/gpt.ts";
import { hasPyTorch, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";
import { checkParity, maxAbs } from "./_parity.ts";

const SCRIPT = new URL("./encdec_reference.py", import.meta.url).pathname;
const available = (await hasPyTorch()) && (await hasWebGpuAdapter());
const SOURCE = 5;
const PAD = 13;

const base: GPTConfig = {
  ...gptConfig({ vocab_size: 14, max_seq_len: SOURCE + 7, n_layer: 2, n_head: 2, d_model: 24 }),
  name: "encdec",
  n_encoder_layer: 1,
  source_len: SOURCE,
  pad_id: PAD,
};

/** Rows: a source right-padded to SOURCE (lengths 5, 3, 1), then 7 decoder ids; −1 targets. */
function makeBatch(cfg: GPTConfig) {
  let s = 777;
  const next = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
  const lengths = [5, 3, 1];
  const T = cfg.max_seq_len;
  const ids = new Int32Array(lengths.length * T);
  const targets = new Int32Array(lengths.length * T).fill(-1);
  lengths.forEach((len, r) => {
    for (let t = 0; t < T; t++) {
      ids[r * T + t] = t < SOURCE ? (t < len ? next(11) : PAD) : next(13);
      if (t >= SOURCE && (t + r) % 5 !== 2) targets[r * T + t] = next(13);
    }
  });
  return { ids, targets, batch: lengths.length, seqLen: T };
}

async function checkEncDecParity(cfg: GPTConfig, latent: boolean): Promise<void> {
  const dev = await Device.open();
  try {
    const model = new EncoderDecoder(dev, cfg, { seed: 7, latent });
    const { ids, targets, batch, seqLen } = makeBatch(cfg);
    const V = cfg.vocab_size;
    // kiln's logits cover every position (zeros over the source); PyTorch's the decoder only.
    const selectLogits = (logits: Float32Array) => {
      const decoder = new Float32Array(batch * (seqLen - SOURCE) * V);
      for (let r = 0; r < batch; r++) {
        decoder.set(
          logits.subarray((r * seqLen + SOURCE) * V, (r + 1) * seqLen * V),
          r * (seqLen - SOURCE) * V,
        );
        assert.equal(maxAbs(logits.subarray(r * seqLen * V, (r * seqLen + SOURCE) * V)), 0);
      }
      return decoder;
    };
    await checkParity({
      model,
      config: cfg,
      script: SCRIPT,
      ids,
      targets,
      batch,
      seqLen,
      selectLogits,
    });
  } finally {
    dev.destroy();
  }
}

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: encdec matches PyTorch",
  async () => {
    await checkEncDecParity(base, false);
  },
);

testNeeding(
  "PyTorch and a WebGPU adapter",
  available,
  "parity: latent_encdec (pure bottleneck; factor 0.25, untied head) matches PyTorch",
  async () => {
    await checkEncDecParity({ ...base, name: "latent_encdec", num_latent: 3 }, true);
    await checkEncDecParity(
      {
        ...base,
        name: "latent_encdec",
        num_latent: 2,
        bottleneck_factor: 0.25,
        tie_embeddings: false,
      },
      true,
    );
  },
);

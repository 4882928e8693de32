/**
 * The GPT against a float64 CPU composition of the same math (written here from the definitions,
 * independent of the engine's kernels): loss to 1e-5 and gradients of sampled parameter elements
 * against central finite differences of the float64 loss. Needs no PyTorch.
 */

import assert from "node:assert/strict";
import { Device } from "../../src/gpu/device.ts";
import { GPT, type GPTConfig } from "../../src/nn/gpt.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

type Params = Map<string, Float64Array>;

/** y[n,o] = Σ_i x[n,i]·w[o,i] + b[o] (w in nn.Linear layout [out,in]). */
function linear(x: Float64Array, n: number, w: Float64Array, out: number, b?: Float64Array) {
  const inF = x.length / n;
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

function layerNorm(
  x: Float64Array,
  c: number,
  w: Float64Array,
  b: Float64Array | undefined,
  eps: number,
) {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    const row = x.subarray(r * c, r * c + c);
    const mean = row.reduce((a, v) => a + v, 0) / c;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / c;
    for (let i = 0; i < c; i++) {
      y[r * c + i] = ((row[i] - mean) / Math.sqrt(variance + eps)) * w[i] + (b ? b[i] : 0);
    }
  }
  return y;
}

const gelu = (v: number) =>
  0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** Rotate-half RoPE of one head vector at position `pos`. */
function rope(vec: number[], pos: number, base: number): number[] {
  const half = vec.length / 2;
  const out = vec.slice();
  for (let c = 0; c < half; c++) {
    const angle = pos * base ** ((-2 * c) / vec.length);
    out[c] = vec[c] * Math.cos(angle) - vec[c + half] * Math.sin(angle);
    out[c + half] = vec[c + half] * Math.cos(angle) + vec[c] * Math.sin(angle);
  }
  return out;
}

/** Mean cross-entropy of the GPT on one batch, all in float64. */
function oracleLoss(
  cfg: GPTConfig,
  p: Params,
  ids: Int32Array,
  targets: Int32Array,
  batch: number,
): number {
  const [T, C, H, V] = [ids.length / batch, cfg.d_model, cfg.n_head, cfg.vocab_size];
  const D = C / H;
  const eps = cfg.ln_eps ?? 1e-5;
  let total = 0, counted = 0;
  for (let b = 0; b < batch; b++) {
    let x = new Float64Array(T * C);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        x[t * C + c] = p.get("wte.weight")![ids[b * T + t] * C + c] +
          (cfg.positional === "learned" ? p.get("wpe.weight")![t * C + c] : 0);
      }
    }
    for (let l = 0; l < cfg.n_layer; l++) {
      const g = (name: string) => p.get(`h.${l}.${name}`);
      const h = layerNorm(x, C, g("ln_1.weight")!, g("ln_1.bias"), eps);
      const qkv = linear(h, T, g("attn.c_attn.weight")!, 3 * C, g("attn.c_attn.bias"));
      const y = new Float64Array(T * C);
      for (let head = 0; head < H; head++) {
        const vecAt = (part: number, t: number) => {
          const v = Array.from(
            qkv.subarray(t * 3 * C + part * C + head * D, t * 3 * C + part * C + head * D + D),
          );
          return cfg.positional === "rope" && part < 2 ? rope(v, t, cfg.rope_base ?? 10000) : v;
        };
        for (let i = 0; i < T; i++) {
          const q = vecAt(0, i);
          const scores = Array.from({ length: i + 1 }, (_, j) => {
            const k = vecAt(1, j);
            return q.reduce((a, qv, d) => a + qv * k[d], 0) / Math.sqrt(D);
          });
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((a, v) => a + v, 0);
          for (let j = 0; j <= i; j++) {
            const v = vecAt(2, j);
            for (let d = 0; d < D; d++) y[i * C + head * D + d] += (e[j] / z) * v[d];
          }
        }
      }
      const attnOut = linear(y, T, g("attn.c_proj.weight")!, C, g("attn.c_proj.bias"));
      x = x.map((v, i) => v + attnOut[i]);
      const h2 = layerNorm(x, C, g("ln_2.weight")!, g("ln_2.bias"), eps);
      const dFfn = g("mlp.c_fc.weight")!.length / C;
      const f = linear(h2, T, g("mlp.c_fc.weight")!, dFfn, g("mlp.c_fc.bias")).map(gelu);
      const mlpOut = linear(f, T, g("mlp.c_proj.weight")!, C, g("mlp.c_proj.bias"));
      x = x.map((v, i) => v + mlpOut[i]);
    }
    const xf = layerNorm(x, C, p.get("ln_f.weight")!, p.get("ln_f.bias"), eps);
    const logits = linear(xf, T, p.get(cfg.tie_embeddings ? "wte.weight" : "lm_head.weight")!, V);
    for (let t = 0; t < T; t++) {
      const target = targets[b * T + t];
      if (target < 0) continue;
      const row = Array.from(logits.subarray(t * V, t * V + V));
      const m = Math.max(...row);
      total += m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[target];
      counted++;
    }
  }
  return total / counted;
}

async function checkAgainstOracle(cfg: GPTConfig): Promise<void> {
  const dev = await Device.open();
  try {
    const batch = 2, T = 6;
    const model = new GPT(dev, cfg, { seed: 11 });
    // Larger-than-init weights so every path carries signal the finite differences can see.
    const values = await model.params.read();
    let s = 99;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
    for (const v of values.values()) for (let i = 0; i < v.length; i++) v[i] += 0.5 * rand();
    model.params.write(values);
    const ids = Int32Array.from({ length: batch * T }, (_, i) => (i * 5 + 1) % cfg.vocab_size);
    const targets = Int32Array.from(
      { length: batch * T },
      (_, i) => (i === 4 ? -1 : (i * 3 + 2) % cfg.vocab_size),
    );

    model.params.zeroGrad();
    const loss = model.forward(Tensor.fromArray(dev, ids, [batch, T], { dtype: "i32" }), {
      targets: Tensor.fromArray(dev, targets, [batch, T], { dtype: "i32" }),
    }).loss!;
    loss.backward();
    const gpuLoss = await loss.item();
    const grads = await model.params.readGrads();

    const p: Params = new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));
    const lossAt = () => oracleLoss(cfg, p, ids, targets, batch);
    const exact = lossAt();
    assert.ok(Math.abs(gpuLoss - exact) < 1e-5, `loss ${gpuLoss} vs float64 ${exact}`);

    const h = 1e-5;
    let checked = 0;
    for (const [name, param] of p) {
      const g = grads.get(name)!;
      const scale = Math.max(...g.map(Math.abs), 1e-6);
      for (const i of [0, Math.floor(param.length / 2), param.length - 1]) {
        const saved = param[i];
        param[i] = saved + h;
        const up = lossAt();
        param[i] = saved - h;
        const down = lossAt();
        param[i] = saved;
        const numeric = (up - down) / (2 * h);
        assert.ok(
          Math.abs(g[i] - numeric) <= 2e-3 * scale + 1e-6,
          `${name}[${i}]: GPU grad ${g[i]} vs finite difference ${numeric} (tensor scale ${scale})`,
        );
        checked++;
      }
    }
    assert.equal(checked, 3 * p.size);
  } finally {
    dev.destroy();
  }
}

const gpu = await hasWebGpuAdapter();
const tiny = gptConfig({
  vocab_size: 11,
  max_seq_len: 8,
  n_layer: 2,
  n_head: 2,
  d_model: 8,
});

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT matches a float64 composition: loss and finite-difference gradients",
  async () => {
    await checkAgainstOracle(tiny);
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "GPT (RoPE, untied, no bias) matches a float64 composition",
  async () => {
    await checkAgainstOracle({
      ...tiny,
      positional: "rope",
      tie_embeddings: false,
      bias: false,
      d_ffn: 12,
    });
  },
);

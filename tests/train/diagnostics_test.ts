import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import { createSource } from "../../src/data/sources.ts";
import { readSafetensors } from "../../src/nn/safetensors.ts";
import type { BatchSource } from "../../src/data/batch.ts";
import { residualStream } from "../../src/eval/inspect.ts";
import { Device } from "../../src/gpu/device.ts";
import { Block, CausalSelfAttention, type ForwardContext, GPT } from "../../src/nn/gpt.ts";
import type { ResolvedConfig } from "../../src/nn/gpt_config.ts";
import type { ParamBuilder } from "../../src/nn/params.ts";
import { ops } from "../../src/tensor/ops.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { attentionEntropy, Diagnostics, meanRowNorm } from "../../src/train/diagnostics.ts";
import { gptConfig } from "../_support/gpt.ts";
import { readMetrics } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { tinyConfig, withDeviceAndRoot } from "./_tiny.ts";

const gpu = await hasWebGpuAdapter();

Deno.test("attention entropy: zero projections attend uniformly, entropy = ln(t + 1)", () => {
  const C = 8;
  const x = Float32Array.from({ length: 5 * C }, (_, i) => Math.sin(i));
  for (const position of [0, 2, 4]) {
    const h = attentionEntropy({
      x,
      dModel: C,
      nHead: 2,
      head: 1,
      position,
      lnWeight: new Float32Array(C).fill(1),
      lnEps: 1e-5,
      cAttnWeight: new Float32Array(3 * C * C),
    });
    assert.ok(Math.abs(h - Math.log(position + 1)) < 1e-12, `${h} at ${position}`);
  }
  assert.equal(meanRowNorm(Float32Array.from([3, 4, 0, 0, 5, 12]), 2), (5 + 0 + 13) / 3);
});

testNeeding(
  "a WebGPU adapter",
  gpu,
  "diagnostics: lines at their cadence; embedding norms match a CPU recomputation",
  async () => {
    await withDeviceAndRoot(async (dev, root) => {
      const cfg = tinyConfig([
        "training.max_steps=4",
        "training.checkpoint_every=4",
        "training.eval_every=0",
        "training.diagnostics={every: 2, activation_norms: true, layernorm_grad_norms: true, " +
        "attention_entropy: true, gpu_memory: true, entropy_samples: 4}",
      ]);
      const run = await train(cfg, { runsRoot: root, device: dev });
      const diags = (await readMetrics(run.dir)).filter((l) => l.type === "diag") as Record<
        string,
        unknown
      >[];
      assert.deepEqual(diags.map((d) => d.step), [2, 4]);
      const last = diags[1];
      for (const key of ["h.0.ln_1.weight", "h.1.ln_2.bias", "ln_f.weight"]) {
        assert.ok((last[`grad_norm/${key}`] as number) > 0, key);
      }
      const entropy = last.attention_entropy as number[];
      assert.equal(entropy.length, 2);
      assert.ok(entropy.every((h) => h > 0 && h <= Math.log(16)), `${entropy}`);
      assert.ok((last.gpu_bytes as number) > 0);

      // residual after the embedding = wte[id] + wpe[t]; recompute from the step-4 checkpoint
      const { tensors } = await readSafetensors(
        join(run.dir, "checkpoints/step_4/model.safetensors"),
      );
      const wte = tensors.get("wte.weight")!.data as Float32Array;
      const wpe = tensors.get("wpe.weight")!.data as Float32Array;
      const source = await createSource(cfg.data, {
        seed: cfg.seed,
        seqLen: 16,
        vocabSize: 65,
        batchSize: 1,
      });
      const ids = source.valBatch(0, 1).inputs;
      const C = 32;
      const emb = new Float32Array(16 * C);
      ids.forEach((id, t) => {
        for (let c = 0; c < C; c++) emb[t * C + c] = wte[id * C + c] + wpe[t * C + c];
      });
      const expected = meanRowNorm(emb, C);
      assert.ok(Math.abs((last["act_norm/embedding"] as number) - expected) < 1e-5 * expected);
      for (const k of ["first", "middle", "last"]) assert.ok((last[`act_norm/${k}`] as number) > 0);
    });
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "validation on a process logs L* and progress_to_optimal",
  async () => {
    const root = await Deno.makeTempDir();
    try {
      const [{ config }] = resolveConfigs(
        {
          experiment_name: "mess3_tiny",
          data: { source: "process", process: "mess3", params: { x: 0.05, a: 0.85 }, bos: true },
          model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 1, d_model: 16 },
          training: {
            batch_size: 16,
            max_steps: 6,
            learning_rate: 1e-2,
            eval_every: 3,
            eval_batches: 2,
            log_every: 3,
          },
        },
        [],
        "mess3_tiny",
      );
      const run = await train(config, { runsRoot: root });
      const vals = (await readMetrics(run.dir)).filter((l) => l.type === "val") as Record<
        string,
        number
      >[];
      assert.deepEqual(vals.map((v) => v.step), [0, 3, 6]);
      for (const v of vals) {
        assert.ok(Math.abs(v.optimal_loss - 0.85939) < 1e-4, `L* ${v.optimal_loss}`);
        const expected = (v.loss - v.optimal_loss) / (vals[0].loss - v.optimal_loss);
        assert.ok(Math.abs(v.progress_to_optimal - expected) < 1e-12);
      }
      assert.equal(vals[0].progress_to_optimal, 1);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  gpu,
  "a task source: variable-length batches train, validation logs its task metrics",
  async () => {
    const root = await Deno.makeTempDir();
    try {
      const [{ config }] = resolveConfigs(
        {
          experiment_name: "reverse_tiny",
          data: { source: "task", task: "reverse", params: { min_len: 2, max_len: 6 } },
          model: { vocab_size: 128, max_seq_len: 32, n_layer: 1, n_head: 2, d_model: 16 },
          training: {
            batch_size: 8,
            max_steps: 4,
            learning_rate: 1e-2,
            eval_every: 2,
            eval_batches: 3,
            log_every: 2,
          },
        },
        [],
        "reverse_tiny",
      );
      const run = await train(config, { runsRoot: root });
      assert.equal(run.status, "finished");
      const vals = (await readMetrics(run.dir)).filter((l) => l.type === "val") as Record<
        string,
        number
      >[];
      assert.deepEqual(vals.map((v) => v.step), [0, 2, 4]);
      for (const v of vals) assert.ok(v.exact_match >= 0 && v.exact_match <= 1, `${v.exact_match}`);
      const bytes = (await readMetrics(run.dir)).filter((l) => l.type === "train").map((l) =>
        (l as { gpu_bytes: number }).gpu_bytes
      );
      assert.equal(new Set(bytes).size, 1, `no leak across variable lengths: ${bytes}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

/** Attention whose scores are multiplied by `factor` (number or GPU scalar), as a researcher would. */
function scaledGpt(factor: number | (() => Tensor)) {
  class ScaledAttention extends CausalSelfAttention {
    override forward(x: Tensor, _ctx: ForwardContext): Tensor {
      const [query, key, value] = this.cAttn.forwardSplit(x, 3);
      const [q, k, v] = [query, key, value].map((y) => ops.splitHeads(y, this.cfg.n_head));
      const D = this.cfg.d_model / this.cfg.n_head;
      const scale = typeof factor === "number" ? factor / Math.sqrt(D) : factor();
      return this.cProj.forward(ops.mergeHeads(ops.attention(q, k, v, { scale })));
    }
  }
  class ScaledBlock extends Block {
    protected override createAttention(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
      return new ScaledAttention(pb, prefix, cfg);
    }
  }
  return class extends GPT {
    protected override createBlock(pb: ParamBuilder, prefix: string, cfg: ResolvedConfig) {
      return new ScaledBlock(pb, prefix, cfg);
    }
  };
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "attention_entropy reads the probabilities the attention used: scale 1 vs 3 vs a float64 oracle",
  async () => {
    const dev = await Device.open();
    try {
      const cfg = gptConfig({ vocab_size: 13, max_seq_len: 9, n_layer: 2, n_head: 2, d_model: 16 });
      const ids = Int32Array.from([1, 5, 2, 8, 3, 12, 0, 7, 4]);
      const source = {
        valBatch: () => ({ inputs: ids, targets: ids, batchSize: 1, seqLen: ids.length }),
      } as unknown as BatchSource;
      const diag = {
        every: 1,
        activation_norms: false,
        layernorm_grad_norms: false,
        attention_entropy: true,
        gpu_memory: false,
        entropy_samples: 6,
      };
      const D = cfg.d_model / cfg.n_head;
      const three = Tensor.fromArray(dev, [3 / Math.sqrt(D)], []);
      const variants: [string, ReturnType<typeof scaledGpt>, number][] = [
        ["1", scaledGpt(1), 1],
        ["3", scaledGpt(3), 3],
        [
          "3 (GPU scalar)",
          scaledGpt(() => three),
          3,
        ],
      ];
      const measured: number[][] = [];
      for (const [label, Model, factor] of variants) {
        const model = new Model(dev, cfg, { seed: 4 });
        // Larger weights: attention far from uniform, so the scale matters.
        const p = await model.params.read();
        for (const [name, v] of p) if (name.includes("c_attn")) v.forEach((x, i) => v[i] = x * 8);
        model.params.write(p);
        const line = await new Diagnostics(diag, dev, model, source).afterStep(1);
        const entropy = line.attention_entropy as number[];
        // Oracle: each layer's input residual and its ln_1/c_attn in float64 on the CPU.
        const residuals = await residualStream(model, [...ids]);
        entropy.forEach((got, l) => {
          let want = 0;
          for (let s = 0; s < diag.entropy_samples; s++) {
            want += attentionEntropy({
              x: residuals.get(`resid.${l}`)!,
              dModel: cfg.d_model,
              nHead: cfg.n_head,
              head: s % cfg.n_head,
              position: Math.round(((s + 1) * (ids.length - 1)) / diag.entropy_samples),
              lnWeight: p.get(`h.${l}.ln_1.weight`)!,
              lnBias: p.get(`h.${l}.ln_1.bias`),
              lnEps: 1e-5,
              cAttnWeight: p.get(`h.${l}.attn.c_attn.weight`)!,
              cAttnBias: p.get(`h.${l}.attn.c_attn.bias`),
              scale: factor / Math.sqrt(D),
            });
          }
          want /= diag.entropy_samples;
          assert.ok(Math.abs(got - want) < 1e-4, `scale ${label} layer ${l}: ${got} vs ${want}`);
        });
        measured.push(entropy);
        model.params.destroy();
      }
      assert.ok(
        measured[0].every((h, l) => Math.abs(h - measured[1][l]) > 0.05),
        `entropy at scale 1 (${measured[0]}) differs from scale 3 (${measured[1]})`,
      );
      three.release();
    } finally {
      dev.destroy();
    }
  },
);

/**
 * Step time of two training workloads, this checkout against another commit's checkout, run
 * side by side (alternating child processes, best round of each), so a change's cost or gain
 * is measured on the same machine under the same load:
 *
 *   git worktree add /tmp/kiln-base <commit>
 *   deno run -A bench/step_speed.ts --base /tmp/kiln-base [--rounds 3] [--steps 20]
 *
 * Workloads: "mess3" (the demo model: 2L 2H d64, context 7, batch 64, vocab 5) and "small"
 * (CPU-sized shakespeare_char: 4L 4H d128, context 64, batch 12, vocab 65). Both checkouts run
 * with the same matmul stage depth (KILN_MATMUL_STAGE_DEPTH=16), so only the code differs.
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const WORKLOADS = {
  mess3: { n_layer: 2, n_head: 2, d_model: 64, max_seq_len: 7, vocab_size: 5, batch: 64 },
  small: { n_layer: 4, n_head: 4, d_model: 128, max_seq_len: 64, vocab_size: 65, batch: 12 },
} as const;
type Workload = keyof typeof WORKLOADS;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    base: { type: "string" },
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "20" },
    worker: { type: "string" },
    root: { type: "string" },
    limits: { type: "string", default: "adapter" },
  },
});

/** Child: times `steps` steps of one workload with the checkout at `root`; prints ms/step. */
async function worker(root: string, name: Workload, steps: number): Promise<void> {
  const imp = (p: string) => import(new URL(p, `file://${root}/`).href);
  const { Device } = await imp("src/gpu/device.ts");
  const { GPT } = await imp("src/nn/gpt.ts");
  const { AdamW } = await imp("src/optim/adamw.ts");
  const { Tensor } = await imp("src/tensor/tensor.ts");
  const w = WORKLOADS[name];
  const dev = await Device.open({ limits: values.limits });
  const model = new GPT(dev, {
    name: "gpt",
    vocab_size: w.vocab_size,
    max_seq_len: w.max_seq_len,
    n_layer: w.n_layer,
    n_head: w.n_head,
    d_model: w.d_model,
    dropout: 0,
    bias: true,
    tie_embeddings: true,
    positional: "learned",
  }, { seed: 1 });
  const opt = new AdamW(model.params, { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const n = w.batch * w.max_seq_len;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % w.vocab_size);
  const tgt = Int32Array.from({ length: n }, (_, i) => (i * 104729 + 3) % w.vocab_size);
  const inputs = Tensor.fromArray(dev, ids, [w.batch, w.max_seq_len], { dtype: "i32" });
  const targets = Tensor.fromArray(dev, tgt, [w.batch, w.max_seq_len], { dtype: "i32" });
  const step = () => {
    model.params.zeroGrad();
    const { loss } = model.forward(inputs, { targets, train: true });
    loss.backward();
    loss.release();
    opt.step({ lr: 1e-3, maxGradNorm: 1 });
    dev.flush();
  };
  for (let i = 0; i < 3; i++) step();
  await dev.sync();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  await dev.sync();
  console.log(JSON.stringify({ ms: (performance.now() - t0) / steps, adapter: dev.description }));
  dev.destroy();
}

async function runWorker(root: string, name: Workload, steps: number) {
  const self = fileURLToPath(import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--worker", name, "--root", root, "--steps", String(steps)],
    env: { KILN_MATMUL_STAGE_DEPTH: "16" },
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`worker ${name} in ${root} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) as {
    ms: number;
    adapter: string;
  };
}

if (values.worker) {
  await worker(values.root!, values.worker as Workload, Number(values.steps));
} else {
  if (!values.base) throw new Error("--base DIR (a checkout of the commit to compare) is required");
  const here = fileURLToPath(new URL("../", import.meta.url));
  const roots = { this: here, base: values.base };
  const best: Record<string, number> = {};
  let adapter = "";
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of Object.keys(WORKLOADS) as Workload[]) {
      for (const [label, root] of Object.entries(roots)) {
        const r = await runWorker(root, name, Number(values.steps));
        adapter = r.adapter;
        const key = `${name}/${label}`;
        best[key] = Math.min(best[key] ?? Infinity, r.ms);
      }
    }
  }
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  console.log(`adapter: ${adapter}; load average ${load}; best of ${values.rounds} rounds`);
  console.log("workload | this ms/step | base ms/step | this/base speed");
  for (const name of Object.keys(WORKLOADS)) {
    const [a, b] = [best[`${name}/this`], best[`${name}/base`]];
    console.log(`${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}×`);
  }
}

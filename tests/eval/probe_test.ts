import assert from "node:assert/strict";
import { join } from "node:path";
import {
  captureResiduals,
  enumerateBeliefInputs,
  formatProbeTable,
  runProbe,
  writeProbeReport,
} from "../../src/eval/probe.ts";
import { fitAffine, predictAll, probeScores } from "../../src/eval/probe_fit.ts";
import { beliefProjection, scatterSvg } from "../../src/eval/probe_plot.ts";
import { processes } from "../../src/data/synthetic/processes.ts";
import { KeyedXoshiro128 } from "../../src/util/random.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { gptConfig } from "../_support/gpt.ts";

function randomMatrix(rng: KeyedXoshiro128, rows: number, cols: number): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => rng.next() * 2 - 1);
}

Deno.test("affine fit recovers a known map exactly from noiseless data", () => {
  const rng = new KeyedXoshiro128([1]);
  const [n, dIn, dOut] = [200, 6, 3];
  const x = randomMatrix(rng, n, dIn);
  const w = randomMatrix(rng, dIn, dOut);
  const b = [0.3, -1.2, 2];
  const y = new Float64Array(n * dOut);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dOut; c++) {
      let s = b[c];
      for (let a = 0; a < dIn; a++) s += x[i * dIn + a] * w[a * dOut + c];
      y[i * dOut + c] = s;
    }
  }
  const fit = fitAffine({ x, y, n, dIn, dOut });
  fit.weight.forEach((v, i) => assert.ok(Math.abs(v - w[i]) < 1e-6, `W[${i}] ${v} vs ${w[i]}`));
  fit.bias.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-6));
  const { scores } = probeScores({ x, y, n, dIn, dOut });
  assert.ok(scores.mse < 1e-12 && scores.r2 > 1 - 1e-9 && scores.cv_r2 > 1 - 1e-9);
  assert.ok(scores.shuffled_r2 < 0.2, `shuffled R² ${scores.shuffled_r2}`);
});

Deno.test("weighted fit: residuals orthogonal to features, weights act as row multiplicities", () => {
  const rng = new KeyedXoshiro128([2]);
  const [n, dIn, dOut] = [60, 4, 2];
  const x = randomMatrix(rng, n, dIn);
  const y = randomMatrix(rng, n, dOut);
  const wts = Float64Array.from({ length: n }, () => 1 + Math.floor(rng.next() * 4));
  const d = { x, y, w: wts, n, dIn, dOut };
  const pred = predictAll(fitAffine(d), d);
  // normal equations: Σ_i w_i r_i [x_i, 1] = 0
  for (let c = 0; c < dOut; c++) {
    for (let a = 0; a <= dIn; a++) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        s += wts[i] * (pred[i * dOut + c] - y[i * dOut + c]) * (a < dIn ? x[i * dIn + a] : 1);
      }
      assert.ok(Math.abs(s) < 1e-6, `gradient ${s}`); // the tiny ridge leaves ~1e-8
    }
  }
  // the same rows repeated w_i times give the same fit
  const rx: number[] = [];
  const ry: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < wts[i]; k++) {
      rx.push(...x.subarray(i * dIn, (i + 1) * dIn));
      ry.push(...y.subarray(i * dOut, (i + 1) * dOut));
    }
  }
  const repeated = fitAffine({
    x: Float64Array.from(rx),
    y: Float64Array.from(ry),
    n: ry.length / dOut,
    dIn,
    dOut,
  });
  const weighted = fitAffine(d);
  weighted.weight.forEach((v, i) => assert.ok(Math.abs(v - repeated.weight[i]) < 1e-9));
});

Deno.test("cross-validation exposes overfitting that the in-sample R² hides", () => {
  const rng = new KeyedXoshiro128([3]);
  const [n, dIn, dOut] = [40, 30, 2];
  const d = { x: randomMatrix(rng, n, dIn), y: randomMatrix(rng, n, dOut), n, dIn, dOut };
  const { scores } = probeScores(d);
  assert.ok(scores.r2 > 0.5, `in-sample R² of noise ${scores.r2}`);
  assert.ok(scores.cv_r2 < 0, `cross-validated R² of noise ${scores.cv_r2}`);
});

Deno.test("belief inputs: all inputs, distinct prefixes, multiplicities and true beliefs", () => {
  const mess3 = processes.mess3({ x: 0.05, a: 0.85 });
  const inp = enumerateBeliefInputs(mess3, { seqLen: 4, bos: true });
  assert.equal(inp.nSeq, 27);
  assert.equal(inp.rows, 3 + 9 + 27); // the BOS position has no row
  for (let r = 0; r < inp.rows; r++) {
    const seq = inp.ids.subarray(inp.rowSeq[r] * 4, inp.rowSeq[r] * 4 + 4);
    assert.equal(seq[0], 3);
    assert.ok(inp.rowPos[r] >= 1);
    const prefix = Array.from(seq.subarray(1, inp.rowPos[r] + 1));
    const belief = mess3.beliefAfter(prefix);
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(inp.beliefs[r * 3 + j] - belief[j]) < 1e-12);
    assert.equal(inp.weights[r], 3 ** (3 - inp.rowPos[r]));
  }
  // without BOS position 0 already holds a token; impossible words are left out
  const z1r = processes.zero_one_random({ p: 0.5 });
  const z = enumerateBeliefInputs(z1r, { seqLen: 5, bos: false });
  let possible = 0;
  for (let w = 0; w < 32; w++) {
    const word = [0, 1, 2, 3, 4].map((i) => (w >> i) & 1);
    if (z1r.sequenceProbability(word) > 0) possible++;
  }
  assert.equal(z.nSeq, possible);
  assert.equal(z.weights.reduce((s, v, r) => s + (z.rowPos[r] === 0 ? v : 0), 0), possible);
});

Deno.test("projections: simplex corners for 3 states, PCA spreads rrxor's 5-state beliefs", () => {
  const simplex = beliefProjection(new Float64Array(0), 3);
  assert.deepEqual(simplex.project([1, 0, 0]), [0, 0]);
  assert.deepEqual(simplex.project([0, 1, 0]), [1, 0]);
  const mid = simplex.project([1 / 3, 1 / 3, 1 / 3]);
  assert.ok(Math.abs(mid[0] - 0.5) < 1e-12 && Math.abs(mid[1] - Math.sqrt(3) / 6) < 1e-12);
  const inp = enumerateBeliefInputs(processes.rrxor({}), { seqLen: 6, bos: true });
  const pca = beliefProjection(inp.beliefs, 5);
  const pts = new Set<string>();
  for (let r = 0; r < inp.rows; r++) {
    const p = pca.project(inp.beliefs.subarray(r * 5, r * 5 + 5));
    pts.add(`${p[0].toFixed(6)},${p[1].toFixed(6)}`);
  }
  assert.ok(pts.size > 5, `distinct projected points ${pts.size}`);
  const svg = scatterSvg([{ title: "a<b", points: [[0, 0], [1, 1]] }], ["red", "blue"]);
  assert.equal(svg.match(/<circle/g)?.length, 2);
  assert.ok(svg.includes("a&lt;b"));
});

testNeeding(
  "a WebGPU adapter",
  await hasWebGpuAdapter(),
  "probe on a GPT: captured rows are the right positions; report and files written",
  async () => {
    const { Device } = await import("../../src/gpu/device.ts");
    const { GPT } = await import("../../src/nn/gpt.ts");
    const dev = await Device.open();
    const cfg = gptConfig({
      vocab_size: 4,
      max_seq_len: 4,
      n_layer: 2,
      n_head: 2,
      d_model: 16,
    });
    const model = new GPT(dev, cfg, { seed: 5 });
    const mess3 = processes.mess3({});
    const inputs = enumerateBeliefInputs(mess3, { seqLen: 4, bos: true });
    const residuals = await captureResiduals(dev, model, inputs);
    // layer 0 is wte[id] + wpe[pos], computable on the CPU from the parameters
    const params = await model.params.read();
    const wte = params.get("wte.weight")!;
    const wpe = params.get("wpe.weight")!;
    for (let r = 0; r < inputs.rows; r++) {
      const pos = inputs.rowPos[r];
      const id = inputs.ids[inputs.rowSeq[r] * 4 + pos];
      for (let c = 0; c < 16; c++) {
        const expected = wte[id * 16 + c] + wpe[pos * 16 + c];
        assert.ok(Math.abs(residuals[0][r * 16 + c] - expected) < 1e-6, `row ${r} dim ${c}`);
      }
    }
    const report = await runProbe(dev, model, mess3, { bos: true, folds: 3 });
    assert.equal(report.layers.length, 3);
    assert.equal(report.inputs, 27);
    // 39 prefixes against 17 parameters per coordinate: the table warns that the fit is thin
    assert.match(formatProbeTable(report), /note: 39 prefixes for 17 parameters/);
    for (const l of report.layers) {
      assert.ok(
        Number.isFinite(l.mse) && Number.isFinite(l.cv_mse) && Number.isFinite(l.shuffled_mse),
      );
    }
    const dir = await Deno.makeTempDir();
    try {
      const files = await writeProbeReport(join(dir, "probe"), report);
      const json = JSON.parse(await Deno.readTextFile(files.json));
      assert.equal(json.projection.true.length, inputs.rows);
      assert.equal(json.plotted_layer, 2);
      assert.ok((await Deno.readTextFile(files.svg)).startsWith("<svg"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testNeeding(
  "a WebGPU adapter",
  await hasWebGpuAdapter(),
  "demo end to end: a short mess3 run, L* in the summary, probe files in the run",
  async () => {
    const { runDemo, formatDemoSummary } = await import("../../src/eval/demo.ts");
    const root = await Deno.makeTempDir();
    try {
      const r = await runDemo({
        configPath: "configs/mess3.yaml",
        overrides: [
          "training.max_steps=4",
          "training.eval_every=4",
          "training.eval_batches=2",
          "training.batch_size=16",
          "training.warmup_steps=1",
        ],
        progress: false,
        runsRoot: root,
      });
      assert.equal(r.run.status, "finished");
      assert.ok(Math.abs(r.optimalLoss - 0.85939) < 5e-6);
      // the val-set optimum is the Bayes loss of exactly the batches evaluate() scored
      assert.ok(Math.abs(r.valOptimalLoss - 0.86) < 0.1);
      const summary = formatDemoSummary(r);
      assert.match(summary, /optimal loss L\*\s+0\.8594/);
      assert.match(summary, /deno task viz/);
      const probe = JSON.parse(await Deno.readTextFile(join(r.run.dir, "probe", "probe.json")));
      assert.equal(probe.layers.length, 3);
      assert.equal(probe.rows, 3 + 9 + 27 + 81 + 243);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

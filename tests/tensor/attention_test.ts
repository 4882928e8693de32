import assert from "node:assert/strict";
import { ops } from "../../src/tensor/ops.ts";
import { observeAttention } from "../../src/tensor/ops/attention.ts";
import * as ref from "../../src/tensor/reference.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, f32, gpuTest, randomArray } from "./_helpers.ts";

type Dims = ref.AttentionDims;

function lossOf(out: Float64Array, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}

Deno.test("oracle: attention gradients match finite differences (causal, Tq < Tk)", () => {
  const dims: Dims = { batch: 1, heads: 2, tq: 3, tk: 5, headDim: 4 };
  const nq = 2 * 3 * 4;
  const nk = 2 * 5 * 4;
  const q = randomArray(nq, 1);
  const k = randomArray(nk, 2);
  const v = randomArray(nk, 3);
  const w = randomArray(nq, 4);
  const g = ref.attentionBackward(q, k, v, w, dims);
  const tol = { atol: 1e-7, rtol: 1e-6 };
  const f = (qq: Float64Array, kk: Float64Array, vv: Float64Array) =>
    lossOf(ref.attentionForward(qq, kk, vv, dims).out, w);
  assertClose(g.dq, ref.numericGradient((x) => f(x, k, v), q), { ...tol, what: "dq" });
  assertClose(g.dk, ref.numericGradient((x) => f(q, x, v), k), { ...tol, what: "dk" });
  assertClose(g.dv, ref.numericGradient((x) => f(q, k, x), v), { ...tol, what: "dv" });
});

Deno.test("oracle: the KV-cache rule lets the last query see every key", () => {
  const dims: Dims = { batch: 1, heads: 1, tq: 2, tk: 5, headDim: 1 };
  assert.equal(ref.attentionAllowed(1, 4, dims, true), true);
  assert.equal(ref.attentionAllowed(0, 4, dims, true), false);
  assert.equal(ref.attentionAllowed(0, 3, dims, true), true);
  // One query over constant keys: a uniform average of the values it may see.
  const out = ref.attentionForward([1], [0, 0, 0], [1, 2, 6], {
    batch: 1,
    heads: 1,
    tq: 1,
    tk: 3,
    headDim: 1,
  }).out;
  assertClose(out, [3], { atol: 1e-12, rtol: 0 });
});

/** GPU forward (out) and backward (dq, dk, dv) against the oracle with loss = Σ out·w. */
async function checkAttention(
  dev: Parameters<Parameters<typeof gpuTest>[1]>[0],
  dims: Dims,
  causal: boolean,
  seed: number,
  keyMask?: Float64Array,
): Promise<void> {
  const { batch: b, heads: h, tq, tk, headDim: d } = dims;
  const q = f32(randomArray(b * h * tq * d, seed, -2, 2));
  const k = f32(randomArray(b * h * tk * d, seed + 1, -2, 2));
  const v = f32(randomArray(b * h * tk * d, seed + 2));
  const w = f32(randomArray(b * h * tq * d, seed + 3));
  const qt = Tensor.fromArray(dev, q, [b, h, tq, d], { requiresGrad: true });
  const kt = Tensor.fromArray(dev, k, [b, h, tk, d], { requiresGrad: true });
  const vt = Tensor.fromArray(dev, v, [b, h, tk, d], { requiresGrad: true });
  const wt = Tensor.fromArray(dev, w, [b, h, tq, d]);
  const mt = keyMask && Tensor.fromArray(dev, keyMask, [b, tk]);
  const out = ops.attention(qt, kt, vt, { causal, keyMask: mt }).retain();
  ops.sum(ops.mul(out, wt)).backward();
  mt?.release();
  const what = `${JSON.stringify(dims)} causal=${causal} masked=${keyMask !== undefined}`;
  const expected = ref.attentionForward(q, k, v, dims, { causal, keyMask });
  const grads = ref.attentionBackward(q, k, v, w, dims, { causal, keyMask });
  const tol = { atol: 2e-5, rtol: 2e-4 };
  assertClose(await out.toArray(), expected.out, { ...tol, what: `out ${what}` });
  assertClose(await qt.grad!.toArray(), grads.dq, { ...tol, what: `dq ${what}` });
  assertClose(await kt.grad!.toArray(), grads.dk, { ...tol, what: `dk ${what}` });
  assertClose(await vt.grad!.toArray(), grads.dv, { ...tol, what: `dv ${what}` });
  for (const t of [qt, kt, vt, wt, out, qt.grad!, kt.grad!, vt.grad!]) t.release();
}

gpuTest("attention matches the oracle for T = 1, 7, 33, 65 and D = 16, 32, 64", async (dev) => {
  const cases: [number, number, number, number][] = [
    [1, 1, 1, 16],
    [2, 3, 7, 16],
    [1, 2, 33, 32],
    [1, 2, 65, 64],
  ];
  let seed = 10;
  for (const [batch, heads, t, headDim] of cases) {
    await checkAttention(dev, { batch, heads, tq: t, tk: t, headDim }, true, seed += 4);
  }
});

gpuTest("attention with Tq < Tk (KV cache), non-causal, odd and wide heads", async (dev) => {
  await checkAttention(dev, { batch: 1, heads: 2, tq: 5, tk: 40, headDim: 32 }, true, 50);
  await checkAttention(dev, { batch: 1, heads: 1, tq: 1, tk: 9, headDim: 128 }, true, 60);
  await checkAttention(dev, { batch: 2, heads: 1, tq: 17, tk: 30, headDim: 20 }, false, 70);
  await checkAttention(dev, { batch: 1, heads: 1, tq: 70, tk: 70, headDim: 5 }, true, 80);
});

/** A [B, Tk] padding mask: batch row r keeps its first `lengths[r]` keys. */
function paddingMask(lengths: number[], tk: number): Float64Array {
  const m = new Float64Array(lengths.length * tk);
  lengths.forEach((n, r) => m.fill(1, r * tk, r * tk + n));
  return m;
}

Deno.test("oracle: a masked key gets no weight and no gradient", () => {
  const dims: Dims = { batch: 1, heads: 1, tq: 1, tk: 3, headDim: 1 };
  const mask = [1, 0, 1];
  const out = ref.attentionForward([1], [0, 5, 0], [1, 100, 6], dims, {
    causal: false,
    keyMask: mask,
  });
  assertClose(out.out, [3.5], { atol: 1e-12, rtol: 0 });
  const g = ref.attentionBackward([1], [0, 5, 0], [1, 100, 6], [1], dims, {
    causal: false,
    keyMask: mask,
  });
  assert.equal(g.dk[1], 0);
  assert.equal(g.dv[1], 0);
});

gpuTest("cross-attention: Tq != Tk with a key padding mask, awkward shapes", async (dev) => {
  // Tk past one key tile (16) and one 64-row group; masked keys in the middle of tiles.
  await checkAttention(
    dev,
    { batch: 3, heads: 2, tq: 7, tk: 19, headDim: 12 },
    false,
    130,
    paddingMask([19, 5, 1], 19),
  );
  await checkAttention(
    dev,
    { batch: 2, heads: 3, tq: 70, tk: 5, headDim: 32 },
    false,
    140,
    paddingMask([3, 5], 5),
  );
  await checkAttention(
    dev,
    { batch: 2, heads: 1, tq: 1, tk: 67, headDim: 7 },
    false,
    150,
    paddingMask([66, 17], 67),
  );
  // An arbitrary (not prefix) mask, and mask plus causal (decoder self-attention over padding).
  const scattered = f32(randomArray(2 * 33, 160, 0, 1)).map((
    x,
    i,
  ) => (x > 0.4 || i % 33 === 0 ? 1 : 0));
  await checkAttention(
    dev,
    { batch: 2, heads: 2, tq: 9, tk: 33, headDim: 16 },
    false,
    170,
    scattered,
  );
  await checkAttention(
    dev,
    { batch: 2, heads: 2, tq: 9, tk: 9, headDim: 16 },
    true,
    180,
    paddingMask([9, 4], 9),
  );
});

gpuTest("attention rejects a keyMask of the wrong shape", (dev) => {
  const q = Tensor.zeros(dev, [2, 1, 3, 4]);
  const k = Tensor.zeros(dev, [2, 1, 5, 4]);
  const bad = Tensor.zeros(dev, [2, 4]);
  assert.throws(
    () => ops.attention(q, k, k, { causal: false, keyMask: bad }),
    /keyMask must be \[B,Tk\] = \[2,5\], got \[2,4\]/,
  );
  for (const t of [q, k, bad]) t.release();
});

gpuTest("attention: only the inputs that need grad get one; no-grad keeps no tape", (dev) => {
  const q = Tensor.fromArray(dev, f32(randomArray(2 * 3 * 8, 5)), [1, 2, 3, 8]);
  const k = Tensor.fromArray(dev, f32(randomArray(2 * 3 * 8, 6)), [1, 2, 3, 8], {
    requiresGrad: true,
  });
  const v = Tensor.fromArray(dev, f32(randomArray(2 * 3 * 8, 7)), [1, 2, 3, 8]);
  ops.sum(ops.attention(q, k, v)).backward();
  assert.equal(q.grad, null);
  assert.ok(k.grad !== null);
  const y = noGrad(() => ops.attention(q, k, v));
  assert.equal(y.node, null);
  for (const t of [q, k, v, k.grad!, y]) t.release();
});

gpuTest("attention rejects mismatched shapes naming them", (dev) => {
  const q = Tensor.zeros(dev, [1, 2, 4, 8]);
  const k = Tensor.zeros(dev, [1, 2, 3, 8]);
  const wide = Tensor.zeros(dev, [1, 1, 2, 130]);
  assert.throws(() => ops.attention(q, k, k), /Tq <= Tk, got Tq 4 and Tk 3/);
  assert.throws(() => ops.attention(q, q, k), /shapes differ: q \[1,2,4,8\], k \[1,2,4,8\]/);
  assert.throws(() => ops.attention(wide, wide, wide), /head dim 130/);
  for (const t of [q, k, wide]) t.release();
});

gpuTest("rope matches the oracle forward and backward, with an offset", async (dev) => {
  const dims = { batch: 2, heads: 3, seq: 7, headDim: 16 };
  const n = 2 * 3 * 7 * 16;
  const x = f32(randomArray(n, 90));
  const w = f32(randomArray(n, 91));
  for (const offset of [0, 5]) {
    const xt = Tensor.fromArray(dev, x, [2, 3, 7, 16], { requiresGrad: true });
    const wt = Tensor.fromArray(dev, w, [2, 3, 7, 16]);
    const y = ops.rope(xt, { offset }).retain();
    ops.sum(ops.mul(y, wt)).backward();
    assertClose(await y.toArray(), ref.ropeReference(x, dims, { offset }), { what: "rope" });
    // d/dx Σ w·R(x) = Rᵀw: the inverse rotation of w.
    const dx = ref.ropeReference(w, dims, { offset, inverse: true });
    assertClose(await xt.grad!.toArray(), dx, { what: "rope grad" });
    for (const t of [xt, wt, y, xt.grad!]) t.release();
  }
});

Deno.test("oracle: rope keeps norms and position 0 is the identity", () => {
  const dims = { batch: 1, heads: 1, seq: 3, headDim: 8 };
  const x = randomArray(24, 3);
  const y = ref.ropeReference(x, dims);
  assertClose(y.subarray(0, 8), x.subarray(0, 8), { atol: 1e-15, rtol: 0 });
  for (let t = 0; t < 3; t++) {
    const norm = (a: Float64Array) => a.subarray(t * 8, t * 8 + 8).reduce((s, v) => s + v * v, 0);
    assertClose([norm(y)], [norm(x)], { atol: 1e-12, rtol: 1e-12 });
  }
  // Relative property: <R_m a, R_n b> depends on m − n only.
  const a = randomArray(8, 4);
  const b = randomArray(8, 5);
  const one = { batch: 1, heads: 1, seq: 1, headDim: 8 };
  const dot = (m: number, n: number) => {
    const ra = ref.ropeReference(a, one, { offset: m });
    const rb = ref.ropeReference(b, one, { offset: n });
    return ra.reduce((s, v, i) => s + v * rb[i], 0);
  };
  assertClose([dot(7, 3)], [dot(14, 10)], { atol: 1e-12, rtol: 1e-9 });
});

gpuTest("causalMask hides future keys (KV-cache rule) and zeroes their gradient", async (dev) => {
  const [tq, tk] = [3, 5];
  const x = f32(randomArray(2 * tq * tk, 120));
  const w = f32(randomArray(2 * tq * tk, 121));
  const xt = Tensor.fromArray(dev, x, [2, tq, tk], { requiresGrad: true });
  const y = ops.causalMask(xt).retain();
  const dims: Dims = { batch: 1, heads: 2, tq, tk, headDim: 1 };
  const yv = await y.toArray();
  for (let i = 0; i < yv.length; i++) {
    const [r, c] = [Math.floor(i / tk) % tq, i % tk];
    const seen = ref.attentionAllowed(r, c, dims, true);
    assert.equal(yv[i], seen ? x[i] : -Infinity, `element ${i}`);
  }
  assert.throws(() => ops.causalMask(Tensor.zeros(dev, [4, 2])), /Tq <= Tk, got \[4,2\]/);
  // The loss is −inf, but its gradient w.r.t. x is finite: w where visible, 0 where masked.
  ops.sum(ops.mul(ops.causalMask(xt), Tensor.fromArray(dev, w, [2, tq, tk]))).backward();
  const dx = await xt.grad!.toArray();
  for (let i = 0; i < dx.length; i++) {
    const [r, c] = [Math.floor(i / tk) % tq, i % tk];
    assert.equal(dx[i], ref.attentionAllowed(r, c, dims, true) ? w[i] : 0, `grad ${i}`);
  }
  for (const t of [xt, y, xt.grad!]) t.release();
});

/** float64 softmax(scale·q·kᵀ + mask) [B·H, Tq, Tk], the matrix observers must receive. */
function probabilityOracle(
  q: Float64Array,
  k: Float64Array,
  dims: Dims,
  scale: number,
  causal: boolean,
  keyMask?: Float64Array,
): Float64Array {
  const { batch, heads, tq, tk, headDim: d } = dims;
  const out = new Float64Array(batch * heads * tq * tk);
  for (let bh = 0; bh < batch * heads; bh++) {
    const b = Math.floor(bh / heads);
    const allowed = (i: number, j: number) =>
      ref.attentionAllowed(i, j, dims, causal) && (!keyMask || keyMask[b * tk + j] >= 0.5);
    for (let i = 0; i < tq; i++) {
      const row = out.subarray((bh * tq + i) * tk, (bh * tq + i + 1) * tk);
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        if (!allowed(i, j)) continue;
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(bh * tq + i) * d + c] * k[(bh * tk + j) * d + c];
        row[j] = scale * s;
        max = Math.max(max, row[j]);
      }
      let z = 0;
      for (let j = 0; j < tk; j++) {
        row[j] = allowed(i, j) ? Math.exp(row[j] - max) : 0;
        z += row[j];
      }
      for (let j = 0; j < tk; j++) row[j] /= z;
    }
  }
  return out;
}

gpuTest("attention with a GPU scalar scale: the oracle's output, dq and d(scale)", async (dev) => {
  const dims: Dims = { batch: 1, heads: 2, tq: 6, tk: 6, headDim: 8 };
  const n = 2 * 6 * 8;
  const [q, k, v, w] = [1, 2, 3, 4].map((s) => f32(randomArray(n, 200 + s)));
  const s = 1.7;
  const qt = Tensor.fromArray(dev, q, [1, 2, 6, 8], { requiresGrad: true });
  const [kt, vt, wt] = [k, v, w].map((x) => Tensor.fromArray(dev, x, [1, 2, 6, 8]));
  const st = Tensor.fromArray(dev, [s], [], { requiresGrad: true });
  const out = ops.attention(qt, kt, vt, { scale: st }).retain();
  ops.sum(ops.mul(out, wt)).backward();
  const tol = { atol: 2e-5, rtol: 2e-4 };
  assertClose(await out.toArray(), ref.attentionForward(q, k, v, dims, { scale: s }).out, {
    ...tol,
    what: "out",
  });
  const grads = ref.attentionBackward(q, k, v, w, dims, { scale: s });
  assertClose(await qt.grad!.toArray(), grads.dq, { ...tol, what: "dq" });
  const f = (x: number) => lossOf(ref.attentionForward(q, k, v, dims, { scale: x }).out, w);
  const h = 1e-6;
  assertClose(await st.grad!.toArray(), [(f(s + h) - f(s - h)) / (2 * h)], {
    ...tol,
    what: "d(scale)",
  });
  assert.throws(
    () => ops.attention(qt, kt, vt, { scale: wt }),
    /a tensor scale must hold one element, got \[1,2,6,8\]/,
  );
  for (const t of [qt, kt, vt, wt, st, out, qt.grad!, st.grad!]) t.release();
});

gpuTest(
  "observeAttention receives the probabilities with the call's own scale and mask",
  async (dev) => {
    const dims: Dims = { batch: 2, heads: 1, tq: 3, tk: 5, headDim: 4 };
    const nq = 2 * 3 * 4;
    const nk = 2 * 5 * 4;
    const q = f32(randomArray(nq, 300, -2, 2));
    const k = f32(randomArray(nk, 301, -2, 2));
    const qt = Tensor.fromArray(dev, q, [2, 1, 3, 4]);
    const kt = Tensor.fromArray(dev, k, [2, 1, 5, 4]);
    const three = Tensor.fromArray(dev, [3], [1]);
    const cases: [number | Tensor, number, boolean][] = [
      [1, 1, true],
      [3, 3, true],
      [three, 3, true],
      [2, 2, false],
    ];
    const seen: Float32Array[] = [];
    for (const [scale, value, causal] of cases) {
      const reports: Tensor[] = [];
      const y = noGrad(() =>
        observeAttention((r) => {
          assert.equal(r.scale, scale);
          assert.equal(r.causal, causal);
          reports.push(r.probs);
        }, () => ops.attention(qt, kt, kt, { scale, causal }))
      );
      assert.equal(reports.length, 1);
      const got = await reports[0].toArray() as Float32Array;
      assertClose(got, probabilityOracle(q, k, dims, value, causal), {
        atol: 1e-6,
        rtol: 1e-5,
        what: `probs scale ${value} causal ${causal}`,
      });
      seen.push(got);
      for (const t of [y, reports[0]]) t.release();
    }
    assert.ok(seen[0].some((p, i) => Math.abs(p - seen[1][i]) > 1e-3), "scale 3 differs from 1");
    // a key padding mask (batch 0 sees 3 keys, batch 1 all 5) reaches the observer too
    const mask = paddingMask([3, 5], 5);
    const mt = Tensor.fromArray(dev, mask, [2, 5]);
    const reports: Tensor[] = [];
    const y = noGrad(() =>
      observeAttention(
        (r) => reports.push(r.probs),
        () => ops.attention(qt, kt, kt, { scale: 2, causal: false, keyMask: mt }),
      )
    );
    assertClose(await reports[0].toArray(), probabilityOracle(q, k, dims, 2, false, mask), {
      atol: 1e-6,
      rtol: 1e-5,
      what: "probs with a key padding mask",
    });
    for (const t of [qt, kt, three, mt, y, reports[0]]) t.release();
  },
);

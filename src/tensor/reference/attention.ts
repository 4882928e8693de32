/**
 * Float64 CPU oracle for scaled-dot-product attention and rotary embeddings. Written the plain
 * way (the full score matrix, softmax, its Jacobian) so it judges the tiled GPU kernels
 * independently of their tricks.
 *
 * @module
 */

/** Shapes of one attention call: q [B,H,Tq,D], k/v [B,H,Tk,D]. */
export interface AttentionDims {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
}

/**
 * Options of one attention call; `scale` defaults to 1/sqrt(D), `causal` to true. `keyMask`
 * [B, Tk]: keys whose value is below 0.5 are hidden from every query and head of their batch row.
 */
export interface AttentionReferenceOptions {
  causal?: boolean;
  scale?: number;
  keyMask?: ArrayLike<number>;
}

/** True when query `i` may attend to key `j` (KV-cache offset rule: j <= i + Tk - Tq). */
export function attentionAllowed(i: number, j: number, dims: AttentionDims, causal: boolean) {
  return !causal || j <= i + (dims.tk - dims.tq);
}

/** Row-softmax probabilities P [B·H, Tq, Tk] (masked entries 0) and per-row logsumexp. */
function attentionProbabilities(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  dims: AttentionDims,
  causal: boolean,
  scale: number,
  keyMask?: ArrayLike<number>,
): { p: Float64Array; lse: Float64Array } {
  const { batch, heads, tq, tk, headDim: d } = dims;
  const bh = batch * heads;
  const p = new Float64Array(bh * tq * tk);
  const lse = new Float64Array(bh * tq);
  for (let h = 0; h < bh; h++) {
    for (let i = 0; i < tq; i++) {
      const row = p.subarray((h * tq + i) * tk, (h * tq + i + 1) * tk);
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        const hidden = keyMask !== undefined && keyMask[Math.floor(h / heads) * tk + j] < 0.5;
        if (hidden || !attentionAllowed(i, j, dims, causal)) {
          row[j] = -Infinity;
          continue;
        }
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(h * tq + i) * d + c] * k[(h * tk + j) * d + c];
        row[j] = s * scale;
        max = Math.max(max, row[j]);
      }
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += row[j] === -Infinity ? 0 : Math.exp(row[j] - max);
      for (let j = 0; j < tk; j++) row[j] = row[j] === -Infinity ? 0 : Math.exp(row[j] - max) / sum;
      lse[h * tq + i] = max + Math.log(sum);
    }
  }
  return { p, lse };
}

/** Attention forward: out [B,H,Tq,D] and the per-row logsumexp of the scaled scores [B,H,Tq]. */
export function attentionForward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: AttentionDims,
  opts: AttentionReferenceOptions = {},
): { out: Float64Array; lse: Float64Array } {
  const { batch, heads, tq, tk, headDim: d } = dims;
  const causal = opts.causal ?? true;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const { p, lse } = attentionProbabilities(q, k, dims, causal, scale, opts.keyMask);
  const out = new Float64Array(batch * heads * tq * d);
  for (let h = 0; h < batch * heads; h++) {
    for (let i = 0; i < tq; i++) {
      for (let j = 0; j < tk; j++) {
        const w = p[(h * tq + i) * tk + j];
        if (w === 0) continue;
        for (let c = 0; c < d; c++) out[(h * tq + i) * d + c] += w * v[(h * tk + j) * d + c];
      }
    }
  }
  return { out, lse };
}

/**
 * Attention backward through the explicit softmax Jacobian: dV = Pᵀ dO, dP = dO Vᵀ,
 * dS = P ∘ (dP − rowsum(P ∘ dP)), dQ = scale·dS K, dK = scale·dSᵀ Q.
 */
export function attentionBackward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  gradOut: ArrayLike<number>,
  dims: AttentionDims,
  opts: AttentionReferenceOptions = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch, heads, tq, tk, headDim: d } = dims;
  const causal = opts.causal ?? true;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const { p } = attentionProbabilities(q, k, dims, causal, scale, opts.keyMask);
  const dq = new Float64Array(batch * heads * tq * d);
  const dk = new Float64Array(batch * heads * tk * d);
  const dv = new Float64Array(batch * heads * tk * d);
  const dp = new Float64Array(tk);
  for (let h = 0; h < batch * heads; h++) {
    for (let i = 0; i < tq; i++) {
      const pRow = p.subarray((h * tq + i) * tk, (h * tq + i + 1) * tk);
      const go = (h * tq + i) * d;
      let rowDot = 0;
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += gradOut[go + c] * v[(h * tk + j) * d + c];
        dp[j] = s;
        rowDot += pRow[j] * s;
      }
      for (let j = 0; j < tk; j++) {
        const kv = (h * tk + j) * d;
        const ds = pRow[j] * (dp[j] - rowDot) * scale;
        for (let c = 0; c < d; c++) {
          dv[kv + c] += pRow[j] * gradOut[go + c];
          dq[go + c] += ds * k[kv + c];
          dk[kv + c] += ds * q[go + c];
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** Shapes and options of a rotary embedding: x [B,H,T,D] with D even, positions from `offset`. */
export interface RopeDims {
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
}

/**
 * Rotary embedding in the "rotate half" convention (GPT-NeoX, Hugging Face Llama): channel c < D/2
 * pairs with c + D/2, rotated by angle pos·base^(−2c/D). `inverse` applies the transposed
 * rotation, which is the backward pass.
 */
export function ropeReference(
  x: ArrayLike<number>,
  dims: RopeDims,
  opts: { offset?: number; base?: number; inverse?: boolean } = {},
): Float64Array {
  const { batch, heads, seq, headDim: d } = dims;
  const half = d / 2;
  const offset = opts.offset ?? 0;
  const base = opts.base ?? 10000;
  const sign = opts.inverse ? -1 : 1;
  const out = new Float64Array(batch * heads * seq * d);
  for (let h = 0; h < batch * heads; h++) {
    for (let t = 0; t < seq; t++) {
      const row = (h * seq + t) * d;
      for (let c = 0; c < half; c++) {
        const angle = (t + offset) * Math.pow(base, (-2 * c) / d);
        const cos = Math.cos(angle);
        const sin = sign * Math.sin(angle);
        const a = x[row + c];
        const b = x[row + c + half];
        out[row + c] = a * cos - b * sin;
        out[row + c + half] = b * cos + a * sin;
      }
    }
  }
  return out;
}

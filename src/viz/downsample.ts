/**
 * Server-side downsampling that keeps spikes: each bucket of consecutive points contributes its
 * minimum and its maximum (in their original order), so a one-step loss spike survives any zoom
 * level, unlike averaging or stride sampling (the complaint users have about TensorBoard).
 */

/** A downsampled line: parallel x and y arrays, in the original point order. */
export interface SeriesPoints {
  x: number[];
  y: number[];
}

/**
 * Picks at most `points` points from (x, y): the first and last finite point plus, per bucket of
 * consecutive indices, the minimum and maximum y. Points whose x or y is not finite are skipped;
 * `range` keeps only points with x inside [lo, hi] (for zooming). With no more than `points`
 * points left, all are returned unchanged.
 *
 * @example
 * ```ts
 * const { x, y } = downsampleMinMax(steps, losses, 2000);
 * ```
 */
export function downsampleMinMax(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  points: number,
  range?: [number, number],
): SeriesPoints {
  const kept = finiteIndices(x, y, range);
  const n = kept.length;
  const limit = Math.max(2, Math.floor(points));
  if (n <= limit) return pick(x, y, kept, n);
  const buckets = Math.max(1, Math.floor((limit - 2) / 2));
  const chosen = new Int32Array(2 * buckets + 2);
  let count = 0;
  chosen[count++] = kept[0];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * n / buckets);
    const end = Math.floor((b + 1) * n / buckets);
    let minAt = kept[start], maxAt = kept[start];
    for (let k = start + 1; k < end; k++) {
      const i = kept[k];
      if (y[i] < y[minAt]) minAt = i;
      if (y[i] > y[maxAt]) maxAt = i;
    }
    const first = Math.min(minAt, maxAt), second = Math.max(minAt, maxAt);
    if (first !== chosen[count - 1]) chosen[count++] = first;
    if (second !== first) chosen[count++] = second;
  }
  if (kept[n - 1] !== chosen[count - 1]) chosen[count++] = kept[n - 1];
  return pick(x, y, chosen, count);
}

function finiteIndices(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  range?: [number, number],
): Int32Array {
  const n = Math.min(x.length, y.length);
  const out = new Int32Array(n);
  const lo = range?.[0] ?? -Infinity, hi = range?.[1] ?? Infinity;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i], yi = y[i];
    if (Number.isFinite(xi) && Number.isFinite(yi) && xi >= lo && xi <= hi) out[count++] = i;
  }
  return out.subarray(0, count);
}

function pick(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  indices: Int32Array,
  count: number,
): SeriesPoints {
  const xs = new Array<number>(count), ys = new Array<number>(count);
  for (let k = 0; k < count; k++) {
    xs[k] = x[indices[k]];
    ys[k] = y[indices[k]];
  }
  return { x: xs, y: ys };
}

/**
 * Debiased exponential moving average (TensorBoard's smoothing): `weight` 0 returns the input,
 * values near 1 smooth more. Non-finite inputs stay non-finite and do not disturb the average.
 */
export function debiasedEma(values: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(values.length);
  let last = 0, seen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    seen++;
    out[i] = weight === 0 ? v : last / (1 - Math.pow(weight, seen));
  }
  return out;
}

/**
 * Float64 CPU oracle for the fused classifier: mean cross-entropy over non-ignored rows and its
 * gradient with respect to the logits.
 *
 * @module
 */

/**
 * Mean cross-entropy of logits [rows, vocab] against `targets` (rows equal to `ignoreIndex`
 * skipped) and d(loss)/d(logits). All rows ignored → loss 0, zero gradient (kiln's convention).
 */
export function crossEntropyReference(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  vocab: number,
  ignoreIndex = -1,
): { loss: number; dlogits: Float64Array } {
  const rows = targets.length;
  const dlogits = new Float64Array(rows * vocab);
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] !== ignoreIndex) count++;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[r * vocab + v]);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[r * vocab + v] - max);
    const lse = max + Math.log(sum);
    total += lse - logits[r * vocab + t];
    for (let v = 0; v < vocab; v++) {
      const p = Math.exp(logits[r * vocab + v] - lse);
      dlogits[r * vocab + v] = (p - (v === t ? 1 : 0)) / count;
    }
  }
  return { loss: count === 0 ? 0 : total / count, dlogits };
}

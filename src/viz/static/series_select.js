// Which metrics get a chart: every numeric series whose values change. Constant metadata that a
// source logs with each line (bos, eos, generator_len) and flat counters stay off the page.

/** True when series `s` ({ x, y }) holds at least two different finite values. */
export function isVarying(s) {
  let first = null;
  for (const v of s?.y ?? []) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (first === null) first = v;
    else if (v !== first) return true;
  }
  return false;
}

/**
 * The fields of a table (field → { x, y }) worth charting, sorted: varying ones not in `known`
 * (fields that already have their own chart).
 */
export function chartableFields(table, known = new Set()) {
  return Object.keys(table ?? {}).filter((f) => !known.has(f) && isVarying(table[f])).sort();
}

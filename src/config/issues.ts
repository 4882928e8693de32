/**
 * Turns zod issues into one-line messages that name the key path, the expected type and what was
 * found, with a "did you mean" for misspelt keys.
 *
 * @module
 */

import type { z } from "../deps.ts";

/** Edit distance between two short strings (insert, delete, substitute, adjacent swap). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Strips optional/default/pipe wrappers to reach an object schema's shape, if any. */
function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  let s = schema as unknown as { _zod?: { def: Record<string, unknown> } } | undefined;
  for (let guard = 0; s?._zod && guard < 10; guard++) {
    const def = s._zod.def;
    if (def.type === "object") return def.shape as Record<string, z.ZodType>;
    s = (def.innerType ?? def.in) as typeof s;
  }
  return undefined;
}

/** Keys accepted at `path` inside `schema` (empty when `path` is not an object). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let shape = shapeOf(schema);
  for (const key of path) {
    if (!shape) return [];
    shape = shapeOf(shape[String(key)]);
  }
  return shape ? Object.keys(shape) : [];
}

/** The value at `path` in a plain object tree, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[String(key)];
  }
  return v;
}

/** Short description of a found value: `string "64x"`, `number 3`, `a list`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** One line per zod issue, e.g. `training.batch_sise: unknown key (did you mean batch_size?)`. */
export function formatIssue(issue: z.core.$ZodIssue, schema: z.ZodType, raw: unknown): string {
  const where = joinPath(issue.path);
  const found = valueAt(raw, issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const full = where ? `${where}.${key}` : key;
        const hint = closestName(key, keysAt(schema, issue.path));
        return `${full}: unknown key` + (hint ? ` (did you mean ${hint}?)` : "");
      }).join("; ");
    case "invalid_type":
      if (found === undefined) return `${where}: required (expected ${issue.expected})`;
      return `${where}: expected ${issue.expected}, found ${describeValue(found)}`;
    case "invalid_value":
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` +
        `, found ${describeValue(found)}`;
    case "too_small":
    case "too_big":
      return `${where}: ${
        issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, "must be ")
      }, found ${describeValue(found)}`;
    default:
      return `${where || "config"}: ${issue.message}` +
        (found !== undefined && issue.code !== "custom" ? `, found ${describeValue(found)}` : "");
  }
}

/** All issues of a failed parse as one line. */
export function formatIssues(error: z.ZodError, schema: z.ZodType, raw: unknown): string {
  return error.issues.map((i) => formatIssue(i, schema, raw)).join("; ");
}

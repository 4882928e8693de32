/**
 * Hydra-style command-line overrides: `training.batch_size=64 seed=3 training.betas=[0.9,0.99]`.
 * Values are YAML scalars (or flow lists/maps), so `1e-3`, `true` and `null` mean what they say.
 *
 * @module
 */

import { YAML } from "../deps.ts";
import { UserError } from "../util/errors.ts";

/** One parsed `path=value` override. */
export interface Override {
  path: string[];
  value: unknown;
  /** The original text, for messages. */
  text: string;
}

/** Parses `key.path=value`; throws a UserError naming the bad argument. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UserError(`override "${text}": expected key.path=value`);
  const key = text.slice(0, eq).trim();
  const path = key.split(".");
  if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) {
    throw new UserError(`override "${text}": "${key}" is not a dotted key path`);
  }
  let value: unknown;
  try {
    value = YAML.parse(text.slice(eq + 1));
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    throw new UserError(`override "${text}": value is not valid YAML (${first})`);
  }
  return { path, value: value === undefined ? null : value, text };
}

// Keys that exclude each other: setting one from the command line drops the other.
const EITHER_OR: [string, string][] = [
  ["training.max_steps", "training.num_epochs"],
  ["training.warmup_steps", "training.warmup_ratio"],
];

/**
 * Applies overrides to a raw config tree in place. Intermediate mappings are created as needed,
 * but a path through a non-mapping value is an error. Unknown keys are left to validation, which
 * names them with a "did you mean". Setting a key that a `sweep:` section also varies fixes it
 * (the sweep entry is removed).
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: Override[]): void {
  for (const o of overrides) {
    let node: Record<string, unknown> = raw;
    for (let i = 0; i < o.path.length - 1; i++) {
      const key = o.path[i];
      const next = node[key];
      if (next === undefined || next === null) node[key] = {};
      else if (typeof next !== "object" || Array.isArray(next)) {
        throw new UserError(
          `override "${o.text}": ${o.path.slice(0, i + 1).join(".")} is not a section`,
        );
      }
      node = node[key] as Record<string, unknown>;
    }
    node[o.path[o.path.length - 1]] = o.value;
    const dotted = o.path.join(".");
    for (const [a, b] of EITHER_OR) {
      if (dotted === a) deleteAt(raw, b.split("."));
      if (dotted === b) deleteAt(raw, a.split("."));
    }
    if (o.path[0] !== "sweep") deleteAt(raw, ["sweep", ...o.path]);
  }
}

function deleteAt(root: Record<string, unknown>, path: string[]): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<string, unknown>)[key];
  }
  if (node !== null && typeof node === "object") {
    delete (node as Record<string, unknown>)[path[path.length - 1]];
  }
}

/**
 * The one way kiln reads WGSL: every kernel family is a text import, so the same module works from
 * a source checkout, inside a `deno compile` binary, in a `deno bundle` output and in a browser,
 * with no file system access at run time.
 */

import adamw from "../../shaders/adamw.wgsl" with { type: "text" };
import attention from "../../shaders/attention.wgsl" with { type: "text" };
import classifier from "../../shaders/classifier.wgsl" with { type: "text" };
import convert from "../../shaders/convert.wgsl" with { type: "text" };
import dropout from "../../shaders/dropout.wgsl" with { type: "text" };
import elementwise from "../../shaders/elementwise.wgsl" with { type: "text" };
import embedding from "../../shaders/embedding.wgsl" with { type: "text" };
import layernorm from "../../shaders/layernorm.wgsl" with { type: "text" };
import layout from "../../shaders/layout.wgsl" with { type: "text" };
import matmul from "../../shaders/matmul.wgsl" with { type: "text" };
import pointwise from "../../shaders/pointwise.wgsl" with { type: "text" };
import reduce from "../../shaders/reduce.wgsl" with { type: "text" };
import reduceAxis from "../../shaders/reduce_axis.wgsl" with { type: "text" };
import rope from "../../shaders/rope.wgsl" with { type: "text" };
import softmax from "../../shaders/softmax.wgsl" with { type: "text" };
import rowReduceSubgroup from "../../shaders/lib/row_reduce_subgroup.wgsl" with { type: "text" };
import rowReduceWorkgroup from "../../shaders/lib/row_reduce_workgroup.wgsl" with { type: "text" };

/** WGSL source of every kernel family, by name (`shaders/<name>.wgsl`). */
export const SHADERS: Readonly<Record<string, string>> = Object.freeze({
  adamw,
  attention,
  classifier,
  convert,
  dropout,
  elementwise,
  embedding,
  layernorm,
  layout,
  matmul,
  pointwise,
  reduce,
  reduce_axis: reduceAxis,
  rope,
  softmax,
});

/** Names of every kernel family. */
export function shaderNames(): string[] {
  return Object.keys(SHADERS);
}

/**
 * Library fragments a family pulls in with a `//!include <name>` line, one text per variant.
 * `row_reduce` gives `row_sum`/`row_max` over one workgroup: with subgroup operations where the
 * device has `subgroups`, through workgroup memory elsewhere (both are tested).
 */
export const SHADER_LIBRARIES: Readonly<Record<string, { subgroup: string; workgroup: string }>> =
  Object.freeze({
    row_reduce: { subgroup: rowReduceSubgroup, workgroup: rowReduceWorkgroup },
  });

/** Which variant of the libraries a device compiles. */
export interface ShaderVariant {
  subgroups?: boolean;
}

const expanded = new Map<string, string>();

/**
 * The WGSL source of the kernel family `name`, with its `//!include` lines replaced by the
 * variant's library text; `enable` directives move to the top, where WGSL requires them.
 *
 * @example
 * ```ts
 * const code = loadShader("elementwise"); // contents of shaders/elementwise.wgsl
 * ```
 */
export function loadShader(name: string, variant: ShaderVariant = {}): string {
  const code = Object.hasOwn(SHADERS, name) ? SHADERS[name] : undefined;
  if (code === undefined) {
    throw new Error(`unknown shader "${name}"; known: ${shaderNames().join(", ")}`);
  }
  if (!code.includes("//!include")) return code;
  const key = `${name}|${variant.subgroups ? "subgroup" : "workgroup"}`;
  let out = expanded.get(key);
  if (out === undefined) {
    const enables: string[] = [];
    const body = code.replace(/^\/\/!include (\w+)\s*$/gm, (_, lib: string) => {
      const entry = SHADER_LIBRARIES[lib];
      if (!entry) throw new Error(`shader "${name}" includes unknown library "${lib}"`);
      const text = variant.subgroups ? entry.subgroup : entry.workgroup;
      return text.replace(/^\s*enable\s+\w+\s*;\s*$/gm, (line) => {
        enables.push(line.trim());
        return "";
      });
    });
    out = [...new Set(enables), body].join("\n");
    expanded.set(key, out);
  }
  return out;
}

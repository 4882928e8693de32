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
import reduce from "../../shaders/reduce.wgsl" with { type: "text" };
import rope from "../../shaders/rope.wgsl" with { type: "text" };
import softmax from "../../shaders/softmax.wgsl" with { type: "text" };

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
  reduce,
  rope,
  softmax,
});

/** Names of every kernel family. */
export function shaderNames(): string[] {
  return Object.keys(SHADERS);
}

/**
 * The WGSL source of the kernel family `name`.
 *
 * @example
 * ```ts
 * const code = loadShader("elementwise"); // contents of shaders/elementwise.wgsl
 * ```
 */
export function loadShader(name: string): string {
  const code = Object.hasOwn(SHADERS, name) ? SHADERS[name] : undefined;
  if (code === undefined) {
    throw new Error(`unknown shader "${name}"; known: ${shaderNames().join(", ")}`);
  }
  return code;
}

/**
 * The one way kiln reads WGSL: `shaders/<name>.wgsl` resolved against this module's URL, so the
 * same code works from a source checkout and inside a `deno compile --include shaders` binary
 * (where `import.meta.url` points into the embedded file system).
 */

const cache = new Map<string, string>();

/** Returns the URL of `shaders/<name>.wgsl` relative to this module. */
export function shaderUrl(name: string): URL {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad shader name "${name}"`);
  return new URL(`../../shaders/${name}.wgsl`, import.meta.url);
}

/**
 * Loads (once, then from memory) the WGSL source of the kernel family `name`.
 *
 * @example
 * ```ts
 * const code = loadShader("elementwise"); // contents of shaders/elementwise.wgsl
 * ```
 */
export function loadShader(name: string): string {
  let code = cache.get(name);
  if (code === undefined) {
    code = Deno.readTextFileSync(shaderUrl(name));
    cache.set(name, code);
  }
  return code;
}

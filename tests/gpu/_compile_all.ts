/**
 * Compiles every kernel family and builds every entry point's pipeline on a raw GPUDevice,
 * collecting each compiler message (errors and warnings alike) and pipeline error. Host-agnostic:
 * the Deno test runs it on Naga, the browser suite on Tint.
 */

import { loadShader, SHADERS, type ShaderVariant } from "../../src/gpu/shader_loader.ts";

/** The `@compute` entry points of a WGSL source. */
export function entryPoints(code: string): string[] {
  return [...code.matchAll(/@compute[^;{]*?\bfn\s+(\w+)/g)].map((m) => m[1]);
}

/** Every compiler message or pipeline error, as "family/entry: message"; empty when all clean. */
export async function compileEveryShader(
  gpu: GPUDevice,
  variant: ShaderVariant,
): Promise<{ problems: string[]; compiled: string[]; skipped: string[] }> {
  const problems: string[] = [];
  const compiled: string[] = [];
  const skipped: string[] = [];
  for (const family of Object.keys(SHADERS)) {
    const code = loadShader(family, variant);
    if (/^\s*enable\s+f16\s*;/m.test(code) && !gpu.features.has("shader-f16")) {
      skipped.push(`${family} (needs shader-f16)`);
      continue;
    }
    gpu.pushErrorScope("validation");
    const module = gpu.createShaderModule({ label: family, code });
    const info = await module.getCompilationInfo?.();
    for (const m of info?.messages ?? []) {
      problems.push(`${family}:${m.lineNum}: ${m.type}: ${m.message}`);
    }
    const moduleError = await gpu.popErrorScope();
    if (moduleError) problems.push(`${family}: ${moduleError.message}`);
    for (const entryPoint of entryPoints(code)) {
      gpu.pushErrorScope("validation");
      gpu.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
      const err = await gpu.popErrorScope();
      if (err) problems.push(`${family}/${entryPoint}: ${err.message}`);
      else compiled.push(`${family}/${entryPoint}`);
    }
  }
  return { problems, compiled, skipped };
}

/** Browser half of tests/gpu/shader_validity_test.ts: compiles every family with Tint. */

import { compileEveryShader } from "../gpu/_compile_all.ts";

const adapter = (await navigator.gpu.requestAdapter())!;
const requiredFeatures = (["shader-f16", "subgroups"] as GPUFeatureName[])
  .filter((f) => adapter.features.has(f));
const gpu = await adapter.requestDevice({ requiredFeatures });
const reports = [];
for (const subgroups of gpu.features.has("subgroups") ? [false, true] : [false]) {
  reports.push({ subgroups, ...(await compileEveryShader(gpu, { subgroups })) });
}
(globalThis as unknown as { __kilnShaders: unknown }).__kilnShaders = reports;

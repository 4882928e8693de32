import assert from "node:assert/strict";
import { STAGE_DEPTHS } from "../../src/gpu/autotune.ts";
import { ops } from "../../src/tensor/ops.ts";
import { noGrad, Tensor } from "../../src/tensor/tensor.ts";
import { gpuTest, randomArray } from "../tensor/_helpers.ts";
import { runDeno } from "../_support/cli.ts";

gpuTest(
  "every tuned stage depth gives bit-identical products (tuning cannot break resume)",
  async (dev) => {
    const [M, K, N] = [200, 300, 130]; // interior tiles, ragged edges, a partial last stage
    const a = Tensor.fromArray(dev, randomArray(M * K, 1), [M, K]);
    const b = Tensor.fromArray(dev, randomArray(N * K, 2), [N, K]);
    const saved = dev.matmulStageDepth;
    const results: number[][] = [];
    for (const depth of STAGE_DEPTHS) {
      dev.matmulStageDepth = depth;
      results.push(Array.from(await noGrad(() => ops.matmul(a, b, { transB: true })).toArray()));
    }
    dev.matmulStageDepth = saved;
    for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  },
);

gpuTest("tuning runs once per adapter and is cached in the user cache dir", async () => {
  const cacheDir = await Deno.makeTempDir();
  const script = `
    const { Device } = await import(${
    JSON.stringify(new URL("../../src/gpu/device.ts", import.meta.url).href)
  });
    const { fileTuneCache } = await import(${
    JSON.stringify(new URL("../../src/util/tune_cache_file.ts", import.meta.url).href)
  });
    const dev = await Device.open({ tuneCache: fileTuneCache() });
    console.log(dev.matmulStageDepth);
  `;
  const run = async (env: Record<string, string>) => {
    const out = await runDeno(["eval", script], { env: { XDG_CACHE_HOME: cacheDir, ...env } });
    assert.equal(out.code, 0, out.stderr);
    return Number(out.stdout.trim());
  };
  const tuned = await run({});
  assert.ok((STAGE_DEPTHS as readonly number[]).includes(tuned));
  const cache = JSON.parse(await Deno.readTextFile(`${cacheDir}/kiln/matmul-tuning.json`));
  assert.deepEqual(Object.values(cache), [tuned]);
  // A planted choice is read back instead of measured; the environment overrides both.
  const key = Object.keys(cache)[0];
  const other = STAGE_DEPTHS.find((d) => d !== tuned)!;
  await Deno.writeTextFile(`${cacheDir}/kiln/matmul-tuning.json`, JSON.stringify({ [key]: other }));
  assert.equal(await run({}), other);
  assert.equal(await run({ KILN_MATMUL_STAGE_DEPTH: "32" }), 32);
  await Deno.remove(cacheDir, { recursive: true });
});

/**
 * Runs, in a browser page, the tests that kiln's test files registered through the `Deno.test`
 * stand-in installed by {@link DENO_TEST_SHIM}: the same files, assertions and tolerances as
 * under `deno test`, on the browser's WebGPU.
 */

/** One test's outcome, as the page reports it. */
export interface BrowserTestResult {
  name: string;
  status: "ok" | "failed" | "ignored";
  error?: string;
  ms: number;
}

interface RegisteredTest {
  name: string;
  fn: (t: unknown) => unknown;
  ignore?: boolean;
}

/** Runs every registered test in order; `only` (a RegExp source) filters by name. */
export async function runRegisteredTests(only?: string): Promise<BrowserTestResult[]> {
  const tests = (globalThis as unknown as { __kilnTests: RegisteredTest[] }).__kilnTests;
  const filter = only ? new RegExp(only) : null;
  const results: BrowserTestResult[] = [];
  for (const t of tests) {
    if (filter && !filter.test(t.name)) continue;
    if (t.ignore) {
      results.push({ name: t.name, status: "ignored", ms: 0 });
      continue;
    }
    const t0 = performance.now();
    const context = {
      name: t.name,
      step: async (name: unknown, fn?: (t: unknown) => unknown) => {
        const f = typeof name === "object" ? (name as RegisteredTest).fn : fn!;
        await f(context);
        return true;
      },
    };
    try {
      await t.fn(context);
      results.push({ name: t.name, status: "ok", ms: performance.now() - t0 });
    } catch (err) {
      const e = err as Error;
      results.push({
        name: t.name,
        status: "failed",
        error: `${e?.name ?? "Error"}: ${e?.message ?? e}`,
        ms: performance.now() - t0,
      });
    }
  }
  return results;
}

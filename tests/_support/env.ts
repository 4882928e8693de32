/**
 * Test helpers for optional outside tools (PyTorch, Chromium, a WebGPU adapter). Without the tool
 * a test is skipped with a printed reason; under KILN_FULL_TESTS=1 (CI) a missing tool fails it.
 */

/** True when CI asked for every test to run (missing tools are failures, not skips). */
export const FULL_TESTS = Deno.env.get("KILN_FULL_TESTS") === "1";

/** Runs `cmd args` and reports whether it exited 0 (false when the program does not exist). */
export async function commandSucceeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** True when `/usr/bin/python3` can import torch. */
export function hasPyTorch(): Promise<boolean> {
  return commandSucceeds("/usr/bin/python3", ["-c", "import torch"]);
}

/** Path of Debian's Chromium when installed, else null. */
export async function chromiumPath(): Promise<string | null> {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      await Deno.stat(p);
      return p;
    } catch { /* try next */ }
  }
  return null;
}

/** True when Deno's WebGPU finds an adapter on this machine. */
export async function hasWebGpuAdapter(): Promise<boolean> {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/**
 * Registers a test that needs `what`. When `available` is false it is skipped with a printed
 * reason, or fails under KILN_FULL_TESTS=1.
 */
export function testNeeding(
  what: string,
  available: boolean,
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void {
  if (!available && !FULL_TESTS) {
    console.log(`skipping "${name}": ${what} is not available`);
    Deno.test({ name, ignore: true, fn });
    return;
  }
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async (t) => {
      if (!available) {
        throw new Error(`${what} is required under KILN_FULL_TESTS=1 but was not found`);
      }
      await fn(t);
    },
  });
}

/** Temp folders for data tests, all under one parent that is removed when the test module ends. */

let parent: string | null = null;

/** A fresh temp folder, removed with the others when the test process unloads. */
export async function tempDir(): Promise<string> {
  if (!parent) {
    parent = await Deno.makeTempDir({ prefix: "kiln-data-test-" });
    const base = parent;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(base, { recursive: true });
      } catch { /* already gone */ }
    });
  }
  return await Deno.makeTempDir({ dir: parent });
}

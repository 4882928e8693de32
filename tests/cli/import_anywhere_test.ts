import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runDeno } from "../_support/cli.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A script that uses zod, yaml and the GPT-2 ranks through kiln, importing from `base`. */
function script(mod: string, web: string): string {
  return `
import { loadConfig, optimalLoss, processes, Tokenizer } from ${JSON.stringify(mod)};
import { optimalLoss as webOptimalLoss, processes as webProcesses } from ${JSON.stringify(web)};
const config = await loadConfig(${JSON.stringify(join(REPO, "configs", "mess3.yaml"))});
const gpt2 = await Tokenizer.load("gpt2");
console.log(JSON.stringify({
  lstar: optimalLoss(processes.mess3(), { nCtx: 10, bos: true }),
  webLstar: webOptimalLoss(webProcesses.mess3(), { nCtx: 10, bos: false }),
  process: config.data.process,
  gpt2: [...gpt2.encode("Hello world")],
}));
`;
}

async function runFrom(
  dir: string,
  source: string,
): Promise<Record<string, unknown>> {
  await Deno.writeTextFile(join(dir, "main.ts"), source);
  const out = await runDeno(["run", "-A", "main.ts"], { cwd: dir });
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout.trim().split("\n").pop()!);
}

function assertResult(r: Record<string, unknown>): void {
  // mess3's optimal losses (tests/data/synthetic/theory_test.ts): 0.83303 with BOS, 0.80251 without.
  assert.ok(Math.abs((r.lstar as number) - 0.83303) < 5e-6, String(r.lstar));
  assert.ok(
    Math.abs((r.webLstar as number) - 0.80251) < 5e-6,
    String(r.webLstar),
  );
  assert.equal(r.process, "mess3");
  assert.deepEqual(r.gpt2, [15496, 995]); // GPT-2's ids for "Hello", " world"
}

Deno.test("a script outside the repo imports mod.ts and web.ts by path and by file:// URL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-outside-" });
  try {
    assertResult(
      await runFrom(dir, script(join(REPO, "mod.ts"), join(REPO, "web.ts"))),
    );
    const url = (p: string) => pathToFileURL(join(REPO, p)).href;
    assertResult(await runFrom(dir, script(url("mod.ts"), url("web.ts"))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a script imports kiln's mod.ts and web.ts from an http:// URL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln-outside-" });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 400 });
      try {
        return new Response(await Deno.readFile(join(REPO, path)), {
          headers: { "content-type": "application/typescript" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    assertResult(
      await runFrom(dir, script(`${base}/mod.ts`, `${base}/web.ts`)),
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("src/deps.ts and src/deps_assets.ts pin the root import map's versions", async () => {
  const imports: Record<string, string> =
    JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).imports;
  const pinned = new Set<string>();
  for (const file of ["src/deps.ts", "src/deps_assets.ts"]) {
    const text = await Deno.readTextFile(join(REPO, file));
    for (const m of text.matchAll(/"(npm:(@?[^@"]+)@([^/"]+))[^"]*"/g)) {
      assert.equal(imports[m[2]], `npm:${m[2]}@${m[3]}`, `${file}: ${m[1]}`);
      pinned.add(m[2]);
    }
  }
  assert.deepEqual([...pinned].sort(), Object.keys(imports).sort());
});

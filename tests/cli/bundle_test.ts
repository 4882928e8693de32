import assert from "node:assert/strict";
import { join } from "node:path";
import { bundleCli, compileCli, REPO_ROOT } from "../../src/cli/build.ts";
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";
import { assertOneLineError, runCommand } from "../_support/cli.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";

const COMMANDS = [
  "demo",
  "download",
  "tokenize",
  "train",
  "validate",
  "probe",
  "runs",
  "viz",
];
const DENORT = Deno.env.get("DENORT_BIN");
const adapter = await hasWebGpuAdapter();

/** How to start the built CLI: `deno run -A dist/kiln.js …` or the executable itself. */
type Launcher = (args: string[]) => [string, string[]];

/** Starts `viz --port 0` in `dir`, waits for its URL, and returns it with a stop(). */
async function startViz(launch: Launcher, dir: string) {
  const [program, args] = launch(["viz", "--port", "0"]);
  const child = new Deno.Command(program, {
    args,
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/http:\/\/\S+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`viz exited before listening: ${text}`);
    text += value;
  }
  const url = text.match(/http:\/\/[^\s)]+/)![0].replace(/\/$/, "");
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    },
  };
}

/** What a user who downloads one file does with it, from an empty folder with no repository. */
async function exercise(launch: Launcher): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-user-" });
  const run = (args: string[]) => {
    const [program, argv] = launch(args);
    return runCommand(program, argv, { cwd: dir });
  };
  try {
    const help = await run(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    for (const c of COMMANDS) {
      assert.match(help.stdout, new RegExp(`\\b${c}\\b`));
    }
    for (const c of COMMANDS) {
      const h = await run([c, "--help"]);
      assert.equal(h.code, 0, `${c} --help: ${h.stderr}`);
      assert.match(h.stdout, /--help|usage/i, c);
    }
    assertOneLineError(await run(["nope"]), /unknown command "nope"/);

    // tokenize: a 500-id BPE tokenizer of a small text file
    const corpus = await Deno.readTextFile(
      join(REPO_ROOT, "../shared/data/tinyshakespeare.txt"),
    );
    await Deno.writeTextFile(join(dir, "x.txt"), corpus.slice(0, 30_000));
    const tok = await run([
      "tokenize",
      "train",
      "file",
      "x.txt",
      "500",
    ]);
    assert.equal(tok.code, 0, tok.stderr);
    const tokenizer = await Tokenizer.load(
      join(dir, "assets", "tokenizers", "x-500.json"),
    );
    assert.equal(tokenizer.vocabSize, 500);
    assert.equal(
      tokenizer.decode(tokenizer.encode("To be, or not")),
      "To be, or not",
    );

    const demo = await run([
      "demo",
      "training.max_steps=4",
      "training.eval_every=4",
      "training.eval_batches=1",
      "training.log_every=2",
      "--no-progress",
    ]);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /optimal loss L\*\s+0\.8594/); // mess3, n_ctx 6, BOS: 0.85939
    assert.match(demo.stdout, /belief probe, block 2: R²/);

    const gen = await run([
      "validate",
      "--checkpoint",
      "runs/mess3",
      "--prompt",
      "0 1",
      "--max-length",
      "4",
      "--temperature",
      "0",
    ]);
    assert.equal(gen.code, 0, gen.stderr);
    // the prompt, then 4 greedy tokens of mess3's alphabet (or BOS)
    assert.match(gen.stdout.trim(), /^0 1( (0|1|2|BOS)){4}$/);

    const viz = await startViz(launch, dir);
    try {
      const page = await fetch(`${viz.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const app = await fetch(`${viz.url}/app.js`);
      assert.equal(
        await app.text(),
        await Deno.readTextFile(join(REPO_ROOT, "src/viz/static/app.js")),
      );
      const css = await fetch(`${viz.url}/vendor/uPlot.min.css`);
      assert.equal(css.status, 200);
      assert.match(await css.text(), /\.uplot/);
      const runs = await fetch(`${viz.url}/api/runs`);
      assert.equal(runs.status, 200);
      assert.match(await runs.text(), /mess3/);
    } finally {
      await viz.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

testNeeding(
  "a WebGPU adapter",
  adapter,
  "dist/kiln.js (deno bundle): from an empty folder, every command as a user runs it",
  async () => {
    const out = join(
      await Deno.makeTempDir({ prefix: "kiln-bundle-" }),
      "kiln.js",
    );
    try {
      assert.equal(await bundleCli({ out }), out);
      // One file: nothing but node: built-ins is imported from outside it.
      const text = await Deno.readTextFile(out);
      const external = [...text.matchAll(/^import\s[^;\n]*?from\s*"([^"]+)"/gm)]
        .map((m) => m[1]);
      assert.deepEqual(external.filter((s) => !s.startsWith("node:")), []);
      await exercise((args) => [Deno.execPath(), ["run", "-A", out, ...args]]);
    } finally {
      await Deno.remove(join(out, ".."), { recursive: true });
    }
  },
);

if (DENORT) {
  testNeeding(
    "a WebGPU adapter",
    adapter,
    "dist/kiln (deno compile with DENORT_BIN): the same, as one executable",
    async () => {
      const out = join(
        await Deno.makeTempDir({ prefix: "kiln-compile-" }),
        "kiln",
      );
      try {
        assert.equal(await compileCli({ out }), out);
        await exercise((args) => [out, args]);
      } finally {
        await Deno.remove(join(out, ".."), { recursive: true });
      }
    },
  );
} else {
  console.log(
    "skipping dist/kiln (deno compile): DENORT_BIN is not set (no denort offline)",
  );
}

Deno.test("deno task compile without a runtime, or with the deno CLI as one: one line, exit 2", async () => {
  const tool = join(REPO_ROOT, "tools", "build.ts");
  const dir = await Deno.makeTempDir({ prefix: "kiln-compile-" });
  try {
    const out = join(dir, "kiln");
    const asDeno = await runCommand(Deno.execPath(), [
      "run",
      "-A",
      tool,
      "compile",
      "--out",
      out,
    ], {
      env: { DENORT_BIN: Deno.execPath() },
    });
    assertOneLineError(asDeno, /is the deno CLI, not denort/);
    const missing = await runCommand(Deno.execPath(), [
      "run",
      "-A",
      tool,
      "compile",
      "--out",
      out,
    ], {
      env: { DENORT_BIN: join(dir, "no-such-denort") },
    });
    assertOneLineError(missing, /no-such-denort: no such file/);
    assertOneLineError(
      await runCommand(Deno.execPath(), ["run", "-A", tool, "nope"]),
      /expected compile or bundle/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

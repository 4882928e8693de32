/**
 * Builds the in-browser trainer (`/train`): one HTML page and one script bundled by `deno bundle
 * --platform browser` from `train_page.ts`, which carries the whole engine and its shaders. The
 * visualizer serves it; `deno task web --out DIR` writes it as static files for any web server
 * (WebGPU needs a secure context: https, or http on localhost).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";

/** The page; it loads `train.js` from beside itself. */
export const TRAIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kiln · train mess3 in this tab</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 720px; color: #222; }
  table { border-collapse: collapse; margin-top: 1em; }
  td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
  #status { font-variant-numeric: tabular-nums; }
</style>
<h1>Train a transformer in this tab</h1>
<p>A 2-layer GPT learns the mess3 process on your GPU through WebGPU; nothing runs on a server.
The dashed line is L* = <span id="lstar">…</span>, the lowest loss any model can reach.</p>
<p>Adapter: <span id="adapter">opening…</span> <button id="stop" disabled>Stop</button></p>
<p id="status">loading…</p>
<div id="chart"></div>
<h2>Belief probe</h2>
<p>How well an affine map of the residual stream recovers the true belief state (R² near 1: the
model tracks beliefs).</p>
<table id="probe"><tr><td>after training</td></tr></table>
<script type="module" src="train.js"></script>
</html>
`;

/** The bundle's entry: a source file, so only a checkout (not a URL import or binary) builds it. */
function trainPageEntry(): string {
  const url = new URL("./train_page.ts", import.meta.url);
  if (url.protocol !== "file:") {
    throw new UserError(
      `the /train page is bundled from kiln's source files; ${url.protocol} imports cannot (use a checkout)`,
    );
  }
  return fileURLToPath(url);
}

let cached: Promise<string> | null = null;

/** The page's script, bundled once per process (a few seconds) and then reused. */
export function trainPageScript(): Promise<string> {
  cached ??= bundleTrainPage().catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function bundleTrainPage(): Promise<string> {
  const entry = trainPageEntry();
  const dir = await Deno.makeTempDir({ prefix: "kiln-web-" });
  try {
    const out = join(dir, "train.js");
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", out, entry],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!run.success) {
      const first = new TextDecoder().decode(run.stderr).trim().split("\n")[0];
      throw new UserError(`bundling the /train page failed: ${first}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `index.html` and `train.js` into `outDir` (created if needed); returns their paths. */
export async function writeTrainPage(outDir: string): Promise<string[]> {
  const script = await trainPageScript();
  await Deno.mkdir(outDir, { recursive: true });
  const html = join(outDir, "index.html");
  const js = join(outDir, "train.js");
  await writeFileAtomic(js, script);
  await writeFileAtomic(html, TRAIN_PAGE_HTML);
  return [html, js];
}

/** `deno task web`: writes the in-browser trainer (`/train` of `deno task viz`) as static files. */

import { parseCliArgs, runCli } from "../src/cli/run.ts";
import { UserError } from "../src/util/errors.ts";
import { writeTrainPage } from "../src/web/train_page_build.ts";

const HELP = `deno task web [--out dist/web]

Writes the in-browser trainer as static files: index.html and train.js (the whole engine and its
shaders, bundled for browsers). Serve the folder from any web server; WebGPU needs a secure
context (https, or http on 127.0.0.1/localhost). The page trains the mess3 demo model in the tab
on the visitor's GPU, charts its loss against L* and ends with the belief probe; ?steps=N
shortens the run. \`deno task viz\` serves the same page at /train.

  --out DIR   output folder (default: dist/web)
  --help      show this help`;

/** Runs the command with its CLI arguments (also used by the \`kiln\` binary). */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseCliArgs("web", args, {
    out: { type: "string", default: "dist/web" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return console.log(HELP);
  if (positionals.length) throw new UserError(`web: unexpected argument "${positionals[0]}"`);
  const files = await writeTrainPage(values.out as string);
  console.log(`wrote ${files.join(" and ")}`);
}

if (import.meta.main) await runCli(() => main(Deno.args));

/** `deno task pack --out DIR`: an offline folder (Deno, packages, repo, run.sh) for a GPU host. */

import { parseCliArgs, runCli } from "../src/cli/run.ts";
import { packOffline } from "../src/pack/offline_pack.ts";
import { UserError } from "../src/util/errors.ts";
import { ProgressBar } from "../src/util/progress.ts";

const HELP = `deno task pack --out DIR

Writes a self-contained folder for a GPU host without internet access:
  DIR/deno.gz    the running Deno binary, compressed (run.sh unpacks it on first use)
  DIR/deno_dir/  a Deno cache holding only the packages kiln's runtime imports
  DIR/repo/      the repository files (tracked and untracked, not ignored)
  DIR/run.sh     runs a kiln command offline: DIR/run.sh demo, DIR/run.sh train --config …,
                 DIR/run.sh bench gpu_report [--quick] …
Copy DIR to the host (e.g. tar) and run DIR/run.sh there; runs are written under DIR/repo/runs.
DIR must not exist or be empty. Packing needs the npm registry once.

  --out DIR   the folder to create
  --help      show this help`;

/** Runs the command with its CLI arguments. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs("pack", args, {
    out: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return console.log(HELP);
  if (!values.out) throw new UserError("pack: --out DIR is required (see --help)");
  let bar: ProgressBar | undefined;
  const r = await packOffline({
    out: values.out as string,
    onProgress: (done, total, label) => {
      bar ??= new ProgressBar({ total, label: "pack" });
      bar.update(done, label);
    },
  });
  bar?.done();
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `wrote ${r.out}: ${r.files} repo files, deno ${mb(r.denoBytes)} (gzip), ` +
      `packages ${mb(r.cacheBytes)}; run ${r.out}/run.sh demo`,
  );
}

if (import.meta.main) await runCli(() => main(Deno.args));

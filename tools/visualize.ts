/** `deno task viz`: serve the run visualizer on 127.0.0.1 and print its URL. */

import { intFlag, parseCliArgs, runCli } from "../src/cli/run.ts";
import { UserError } from "../src/util/errors.ts";
import { ProgressBar } from "../src/util/progress.ts";
import { startVizServer } from "../src/viz/server.ts";

const HELP = `deno task viz [--logdir runs] [--port 8787] [--host 127.0.0.1]

Serves a local web page that compares training runs while they train: loss, val loss and
perplexity, learning rate, tokens/s, grad norm and task metrics against step, tokens, wall
time or FLOPs; summary and config tables; attention maps and probe plots. Read-only.

  --logdir DIR   directory holding runs/<experiment>/<run>/ (default: runs)
  --port N       port to listen on (default: 8787; 0 picks a free port)
  --host ADDR    interface to bind (default: 127.0.0.1, this machine only)
  --help         show this help`;

/** Runs the command with its CLI arguments (also used by the `kiln` binary). */
export async function main(args: string[]): Promise<void> {
  const { values } = parseCliArgs("viz", args, {
    logdir: { type: "string", default: "runs" },
    port: { type: "string", default: "8787" },
    host: { type: "string", default: "127.0.0.1" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return console.log(HELP);
  const port = intFlag("port", values.port);
  if (port < 0 || port > 65535) throw new UserError(`--port: expected 0..65535, found ${port}`);
  const logdir = values.logdir as string;
  const info = await Deno.stat(logdir).catch(() => null);
  if (!info?.isDirectory) throw new UserError(`log directory not found: ${logdir}`);
  let bar: ProgressBar | undefined;
  const viz = await startVizServer({
    logdir,
    port,
    hostname: values.host as string,
    onIndexProgress: (done, total) => {
      bar ??= new ProgressBar({ total, label: "indexing runs" });
      bar.update(done);
    },
  });
  bar?.done();
  const count = viz.index.all().length;
  console.log(`kiln viz: ${count} run(s) in ${logdir} at ${viz.url}  (Ctrl-C to stop)`);
  await viz.finished;
}

if (import.meta.main) await runCli(() => main(Deno.args));

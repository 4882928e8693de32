/**
 * A visualizer server in its own process for the SSE memory test: prints its port, then serves
 * until killed. Run with `--v8-flags=--expose-gc`: it collects garbage every 100 ms so its RSS
 * shows what the server holds, not what it has yet to collect.
 */

import { startVizServer } from "../../src/viz/server.ts";

const viz = await startVizServer({ logdir: Deno.args[0], port: 0, pollMs: 100, rescanMs: 0 });
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) setInterval(gc, 100);
console.log(viz.port);
await viz.finished;

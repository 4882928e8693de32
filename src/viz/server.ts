/**
 * The visualizer's HTTP server: static page, JSON API and live stream, read-only, bound to
 * 127.0.0.1 by default. Requests whose Host header is not this server's own address are refused,
 * so a web page on another origin cannot reach it through DNS rebinding.
 */

import { UserError } from "../util/errors.ts";
import { errorResponse, handleApi } from "./api.ts";
import { TRAIN_PAGE_HTML, trainPageScript } from "../web/train_page_build.ts";
import { loadAsset } from "./assets.ts";
import { liveStream } from "./live.ts";
import { RunIndex } from "./run_index.ts";

/** Options of `startVizServer`. */
export interface VizServerOptions {
  /** Directory holding the run directories (`runs`). */
  logdir: string;
  /** Interface to bind (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** How often live streams look for new lines (ms, default 1000). */
  pollMs?: number;
  /** Minimum time between directory re-listings (ms, default 500). */
  rescanMs?: number;
  /** Called while the runs are first indexed (for a progress bar). */
  onIndexProgress?: (done: number, total: number) => void;
}

/** A running visualizer. */
export interface VizServer {
  /** The page's address, e.g. `http://127.0.0.1:8787/`. */
  url: string;
  hostname: string;
  port: number;
  index: RunIndex;
  /** Stops the server and ends live streams. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; " +
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
};

/**
 * The Host header values this server answers to: its bound address (plus the loopback names when
 * bound to loopback, and every local interface when bound to all of them), each with the port.
 */
export function allowedHosts(hostname: string, port: number): Set<string> {
  const names = new Set<string>();
  const bracket = (h: string) => h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
  names.add(bracket(hostname));
  const isLoopback = hostname === "127.0.0.1" || hostname === "localhost" || hostname === "::1";
  const isAny = hostname === "0.0.0.0" || hostname === "::";
  if (isLoopback || isAny) LOOPBACK_NAMES.forEach((n) => names.add(n));
  if (isAny) {
    for (const nic of Deno.networkInterfaces()) names.add(bracket(nic.address));
    try {
      names.add(Deno.hostname());
    } catch { /* no hostname permission */ }
  }
  const hosts = new Set<string>();
  for (const n of names) hosts.add(`${n.toLowerCase()}:${port}`);
  if (port === 80) { for (const n of names) hosts.add(n.toLowerCase()); }
  return hosts;
}

/**
 * Makes the request handler: checks method and Host, then serves `/api/stream`, `/api/…` or a
 * page asset. Exposed for tests; `startVizServer` wires it to `Deno.serve`.
 */
export function createVizHandler(
  index: RunIndex,
  hosts: () => Set<string>,
  opts: { pollMs: number; signal?: AbortSignal },
): (req: Request) => Promise<Response> {
  return async (req) => {
    const response = await route(req);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
      if (!response.headers.has(k)) response.headers.set(k, v);
    }
    return response;
  };

  async function route(req: Request): Promise<Response> {
    const host = (req.headers.get("host") ?? "").toLowerCase();
    if (!hosts().has(host)) return errorResponse(403, "Host header does not name this server");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("read-only", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const url = new URL(req.url);
    try {
      if (url.pathname === "/api/stream") return liveStream(index, url, opts);
      if (url.pathname.startsWith("/api/")) return await handleApi(index, url);
      if (url.pathname === "/train" || url.pathname.startsWith("/train/")) {
        return await trainPageResponse(url.pathname);
      }
      const asset = await loadAsset(url.pathname);
      if (!asset) return new Response("not found", { status: 404 });
      return new Response(asset.body as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": asset.contentType, "cache-control": "no-cache" },
      });
    } catch (err) {
      return errorResponse(500, (err as Error).message);
    }
  }
}

/** The in-browser trainer: its page at `/train/` and its bundled engine at `/train/train.js`. */
async function trainPageResponse(pathname: string): Promise<Response> {
  if (pathname === "/train") {
    return new Response(null, { status: 301, headers: { location: "/train/" } });
  }
  const headers = { "cache-control": "no-cache" };
  if (pathname === "/train/" || pathname === "/train/index.html") {
    return new Response(TRAIN_PAGE_HTML, {
      headers: { ...headers, "content-type": "text/html; charset=utf-8" },
    });
  }
  if (pathname === "/train/train.js") {
    return new Response(await trainPageScript(), {
      headers: { ...headers, "content-type": "text/javascript; charset=utf-8" },
    });
  }
  return new Response("not found", { status: 404 });
}

/**
 * Indexes the runs under `logdir`, then serves the visualizer. A port already in use is a
 * `UserError`.
 *
 * @example
 * ```ts
 * const viz = await startVizServer({ logdir: "runs" });
 * console.log(viz.url);
 * ```
 */
export async function startVizServer(opts: VizServerOptions): Promise<VizServer> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const index = new RunIndex(opts.logdir, { rescanMs: opts.rescanMs });
  await index.refresh({ onProgress: opts.onIndexProgress });
  const abort = new AbortController();
  let hosts = new Set<string>();
  const handler = createVizHandler(index, () => hosts, {
    pollMs: opts.pollMs ?? 1000,
    signal: abort.signal,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: opts.port ?? 8787,
      signal: abort.signal,
      onListen: () => {},
    }, handler);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new UserError(`port ${opts.port} on ${hostname} is in use (pick another with --port)`);
    }
    if (err instanceof Deno.errors.AddrNotAvailable) {
      throw new UserError(`cannot bind ${hostname}: not an address of this machine`);
    }
    throw err;
  }
  const port = server.addr.port;
  hosts = allowedHosts(hostname, port);
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${shown === "0.0.0.0" ? "127.0.0.1" : shown}:${port}/`,
    hostname,
    port,
    index,
    finished: server.finished,
    shutdown: async () => {
      abort.abort();
      await server.finished;
    },
  };
}

/**
 * A local stand-in for the Hugging Face Hub, speaking the endpoints kiln's client uses:
 * repo info, the paginated recursive tree, the parquet-conversion listing, and `resolve` with a
 * redirect to a "CDN" path that honours Range. Faults can be injected per file.
 */

import { createHash } from "node:crypto";

/** One repository served by the fake hub. */
export interface FakeRepo {
  id: string;
  sha: string;
  /** main-branch files: path → content. */
  files: Record<string, Uint8Array>;
  cardData?: Record<string, unknown>;
  /** When set, every request needs `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** refs/convert/parquet files: `<config>/<split>/<name>` → content. */
  converted?: Record<string, Uint8Array>;
  /** Paths whose tree entry reports a wrong sha256. */
  wrongSha?: string[];
}

/** Faults for one file path (each counter is used up as requests arrive). */
export interface Fault {
  /** Send only this many bytes, then cut the connection (once). */
  cutAfter?: number;
  /** Answer this many requests with HTTP 500 first. */
  fail500?: number;
  /** Send this many bytes, then go silent with the connection open (this many times). */
  stallAfter?: { bytes: number; times: number };
  /** Accept the request and never answer it (this many times). */
  stallHeaders?: number;
}

/** A running fake hub. */
export interface FakeHub {
  url: string;
  repos: Map<string, FakeRepo>;
  faults: Map<string, Fault>;
  /** Every request: method, path and the Range header. */
  requests: { path: string; range: string | null; auth: string | null }[];
  close(): Promise<void>;
}

const PAGE_SIZE = 2;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function json(value: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(value), {
    ...init,
    headers: { "content-type": "application/json", ...(init.headers ?? {}) },
  });
}

function treeEntries(files: Record<string, Uint8Array>, wrongSha: string[] = []) {
  return Object.keys(files).sort().map((path) => {
    const bytes = files[path];
    // Big-ish data files are "LFS" (with a sha256 oid), small ones plain git blobs.
    const lfs = path.endsWith(".md") || path.endsWith(".py")
      ? undefined
      : { oid: wrongSha.includes(path) ? "0".repeat(64) : sha256(bytes), size: bytes.length };
    return { type: "file", oid: "blob", path, size: bytes.length, ...(lfs ? { lfs } : {}) };
  });
}

/** Starts the fake hub on 127.0.0.1 (a free port). */
export function startFakeHub(repos: FakeRepo[]): FakeHub {
  const hub: FakeHub = {
    url: "",
    repos: new Map(repos.map((r) => [r.id, r])),
    faults: new Map(),
    requests: [],
    close: async () => {},
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handle(hub, req),
  );
  hub.url = `http://127.0.0.1:${server.addr.port}`;
  hub.close = () => {
    // Stalled answers would hold the graceful shutdown open: end them first.
    for (const end of stalled.splice(0)) end();
    return server.shutdown();
  };
  return hub;
}

/** How to end each answer left hanging by a stall fault (so `close()` can finish). */
const stalled: (() => void)[] = [];

function handle(hub: FakeHub, req: Request): Response | Promise<Response> {
  const url = new URL(req.url);
  const path = decodeURIComponent(url.pathname);
  hub.requests.push({
    path,
    range: req.headers.get("range"),
    auth: req.headers.get("authorization"),
  });
  let m = path.match(/^\/(?:api\/)?datasets\/([^/]+\/[^/]+)(\/.*)?$/) ??
    path.match(/^\/cdn\/([^/]+\/[^/]+)(\/.*)$/);
  if (!m) return json({ error: "Not Found" }, { status: 404 });
  const repo = hub.repos.get(m[1]);
  if (!repo) return json({ error: "Repository not found" }, { status: 404 });
  if (repo.token && req.headers.get("authorization") !== `Bearer ${repo.token}`) {
    return json({ error: "Invalid credentials in Authorization header" }, { status: 401 });
  }
  const rest = m[2] ?? "";
  const isApi = url.pathname.startsWith("/api/");
  if (isApi && (m = rest.match(/^\/revision\/(.+)$/))) {
    return json({
      id: repo.id,
      sha: repo.sha,
      ...(repo.cardData ? { cardData: repo.cardData } : {}),
    });
  }
  if (isApi && (m = rest.match(/^\/tree\/(refs\/convert\/parquet|[^/]+)(?:\/(.*))?$/))) {
    const files = m[1] === "refs/convert/parquet" ? repo.converted ?? {} : repo.files;
    const prefix = m[2] ? m[2] + "/" : "";
    const all = treeEntries(files, repo.wrongSha).filter((e) => e.path.startsWith(prefix));
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const page = all.slice(cursor, cursor + PAGE_SIZE);
    const headers: Record<string, string> = {};
    if (cursor + PAGE_SIZE < all.length) {
      const next = new URL(req.url);
      next.searchParams.set("cursor", String(cursor + PAGE_SIZE));
      headers.link = `<${next}>; rel="next"`;
    }
    return json(page, { headers });
  }
  if (isApi && rest === "/parquet") {
    const out: Record<string, Record<string, string[]>> = {};
    for (const p of Object.keys(repo.converted ?? {}).sort()) {
      const [config, split] = p.split("/");
      out[config] ??= {};
      out[config][split] ??= [];
      const n = out[config][split].length;
      out[config][split].push(
        `${hub.url}/api/datasets/${repo.id}/parquet/${config}/${split}/${n}.parquet`,
      );
    }
    return json(out);
  }
  if (!isApi && (m = rest.match(/^\/resolve\/(refs\/convert\/parquet|[^/]+)\/(.+)$/))) {
    // The Hub answers resolve with a redirect to its CDN; follow-the-redirect is part of the test.
    return new Response(null, {
      status: 302,
      headers: { location: `${hub.url}/cdn/${repo.id}/${encodeURIComponent(m[1])}/${m[2]}` },
    });
  }
  if (
    url.pathname.startsWith("/cdn/") && (m = rest.match(/^\/(refs\/convert\/parquet|[^/]+)\/(.+)$/))
  ) {
    const files = m[1] === "refs/convert/parquet" ? repo.converted ?? {} : repo.files;
    const bytes = files[m[2]];
    if (!bytes) return json({ error: "Entry not found" }, { status: 404 });
    return serveBytes(hub, `${repo.id}/${m[2]}`, bytes, req.headers.get("range"));
  }
  return json({ error: "Not Found" }, { status: 404 });
}

function serveBytes(
  hub: FakeHub,
  key: string,
  bytes: Uint8Array,
  range: string | null,
): Response | Promise<Response> {
  const fault = hub.faults.get(key);
  if (fault?.stallHeaders) {
    fault.stallHeaders--;
    return new Promise((resolve) => {
      stalled.push(() => resolve(json({ error: "stalled" }, { status: 503 })));
    });
  }
  if (fault?.fail500) {
    fault.fail500--;
    return json({ error: "Internal Error" }, { status: 500 });
  }
  let start = 0;
  const r = range?.match(/^bytes=(\d+)-$/);
  if (r) {
    start = Number(r[1]);
    if (start >= bytes.length) {
      return new Response(null, {
        status: 416,
        headers: { "content-range": `bytes */${bytes.length}` },
      });
    }
  }
  const body = bytes.subarray(start);
  const headers: Record<string, string> = { "content-length": String(body.length) };
  if (r) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  const status = r ? 206 : 200;
  if (fault?.stallAfter && fault.stallAfter.times > 0) {
    fault.stallAfter.times--;
    const head = body.slice(0, fault.stallAfter.bytes);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(head);
        stalled.push(() => {
          try {
            controller.error(new Error("stall ended"));
          } catch { /* the client already left */ }
        });
      },
    });
    return new Response(stream, { status, headers });
  }
  if (fault?.cutAfter !== undefined) {
    const cut = fault.cutAfter;
    delete fault.cutAfter;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body.slice(0, cut));
        // Ending the body short of its Content-Length makes the server drop the connection.
        controller.close();
      },
    });
    return new Response(stream, { status, headers });
  }
  return new Response(body.slice(), { status, headers });
}

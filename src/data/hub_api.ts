/**
 * The slice of the Hugging Face Hub HTTP API that `download` needs: repo info, the recursive file
 * tree (paginated through `Link` headers), the parquet-conversion listing, and authenticated GETs
 * with retries. `HF_ENDPOINT` and `HF_TOKEN` are honoured as Hugging Face's own clients do.
 */

import { UserError } from "../util/errors.ts";

/** Where and as whom to talk to the Hub. */
export interface HubClientOptions {
  /** Hub base URL (default `HF_ENDPOINT` or `https://huggingface.co`). */
  endpoint?: string;
  /** Access token (default `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN`), sent as a Bearer token. */
  token?: string;
  /** Attempts for transient failures (5xx, 429, connection errors). Default 5. */
  retries?: number;
  /** First backoff delay in ms, doubled each retry. Default 1000. */
  retryBaseMs?: number;
  /** Longest wait for a connection and the response headers (ms). Default 30 000. */
  timeoutMs?: number;
  /** Longest silence while a response body streams (ms). Default 60 000. */
  idleTimeoutMs?: number;
}

/** A file in the repository tree, as `/api/datasets/<id>/tree/<rev>` reports it. */
export interface TreeFile {
  path: string;
  size: number;
  /** sha256 of the content for LFS files (the LFS oid), else null. */
  sha256: string | null;
}

/** Resolved connection settings. */
export interface HubClient {
  endpoint: string;
  token: string | undefined;
  retries: number;
  retryBaseMs: number;
  timeoutMs: number;
  idleTimeoutMs: number;
}

/** Fills in endpoint, token and retry settings from options and the environment. */
export function hubClient(opts: HubClientOptions = {}): HubClient {
  const env = (k: string) => Deno.env.get(k) || undefined;
  return {
    endpoint: (opts.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(/\/+$/, ""),
    token: opts.token ?? env("HF_TOKEN") ?? env("HUGGING_FACE_HUB_TOKEN"),
    retries: opts.retries ?? 5,
    retryBaseMs: opts.retryBaseMs ?? 1000,
    timeoutMs: opts.timeoutMs ?? 30_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
  };
}

/** A request that gave up: no response, or no body bytes, within the client's timeout. */
export class HubTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HubTimeoutError";
  }
}

/**
 * `fetch` with the client's timeouts: the connection and headers must come within `timeoutMs`,
 * and the body may pause at most `idleTimeoutMs` between chunks. A stalled server would
 * otherwise hang a download forever; a timeout is an error the callers retry (resuming by Range).
 */
export async function timedFetch(
  client: HubClient,
  url: string,
  init: RequestInit = {},
): Promise<Response> {
  const abort = new AbortController();
  const giveUp = (why: string) => abort.abort(new HubTimeoutError(why));
  const timer = setTimeout(
    () => giveUp(`no response within ${client.timeoutMs / 1000} s`),
    client.timeoutMs,
  );
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: abort.signal });
  } catch (err) {
    throw abort.signal.aborted ? abort.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
  if (!res.body) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const idle = setTimeout(
        () => giveUp(`no data for ${client.idleTimeoutMs / 1000} s`),
        client.idleTimeoutMs,
      );
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(abort.signal.aborted ? abort.signal.reason : err);
      } finally {
        clearTimeout(idle);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/** Headers for a Hub request (the token, when there is one). */
export function hubHeaders(client: HubClient, extra: Record<string, string> = {}): Headers {
  const h = new Headers(extra);
  if (client.token) h.set("Authorization", `Bearer ${client.token}`);
  return h;
}

/** True for HTTP statuses worth retrying. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Sleeps before retry number `attempt` (0-based): base · 2^attempt, with ±25 % jitter. */
export function backoff(client: HubClient, attempt: number): Promise<void> {
  const ms = client.retryBaseMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Throws the one-line `UserError` for a failed Hub response: 401/403 say a token is needed, 404
 * says what was not found, other statuses show the Hub's own message.
 */
export async function throwForStatus(
  res: Response,
  what: string,
  client: HubClient,
): Promise<never> {
  const body = await res.text().catch(() => "");
  let detail = "";
  try {
    detail = (JSON.parse(body) as { error?: string }).error ?? "";
  } catch {
    detail = body.slice(0, 200).replace(/\s+/g, " ");
  }
  if (res.status === 401 || res.status === 403) {
    throw new UserError(
      `${what}: access denied (HTTP ${res.status}); this dataset needs a Hugging Face token: ` +
        (client.token
          ? "the token in HF_TOKEN was refused (accept the dataset's terms on its page?)"
          : "set HF_TOKEN to a token from https://huggingface.co/settings/tokens"),
    );
  }
  if (res.status === 404) {
    throw new UserError(`${what}: not found (HTTP 404) at ${client.endpoint}`);
  }
  throw new UserError(`${what}: HTTP ${res.status}${detail ? ` (${detail})` : ""}`);
}

const NULL_BODY_STATUSES = [101, 204, 205, 304];

/** GET with retries on transient failures; returns the first non-transient response. */
export async function getWithRetry(
  client: HubClient,
  url: string,
  headers: Headers,
  what: string,
): Promise<Response> {
  for (let attempt = 0;; attempt++) {
    try {
      const res = await timedFetch(client, url, { headers });
      if (!isTransientStatus(res.status) || attempt >= client.retries) {
        // API answers are small: read them here, so a body that stalls is retried too.
        const bytes = NULL_BODY_STATUSES.includes(res.status) ? null : await res.arrayBuffer();
        return new Response(bytes, res);
      }
      await res.body?.cancel();
    } catch (err) {
      if (attempt >= client.retries) {
        throw new UserError(`${what}: cannot reach ${client.endpoint} (${(err as Error).message})`);
      }
    }
    await backoff(client, attempt);
  }
}

/** GETs a JSON document from the Hub API (retried; errors as one-line `UserError`s). */
export async function getJson<T>(client: HubClient, path: string, what: string): Promise<T> {
  const res = await getWithRetry(client, client.endpoint + path, hubHeaders(client), what);
  if (!res.ok) await throwForStatus(res, what, client);
  return await res.json() as T;
}

/** Repo info at a revision: the commit sha and the dataset card's metadata. */
export interface RepoInfo {
  sha: string;
  cardData?: { configs?: unknown } & Record<string, unknown>;
}

/** `GET /api/datasets/<id>/revision/<rev>`. */
export function repoInfo(client: HubClient, id: string, revision: string): Promise<RepoInfo> {
  return getJson<RepoInfo>(
    client,
    `/api/datasets/${id}/revision/${encodeURIComponent(revision)}`,
    `dataset ${id}`,
  );
}

interface RawTreeEntry {
  type: string;
  path: string;
  size: number;
  lfs?: { oid: string; size: number };
}

/**
 * Every file of the repo at `revision` (below `path`), following the `Link: <…>; rel="next"`
 * pagination the Hub uses for big trees.
 */
export async function listTree(
  client: HubClient,
  id: string,
  revision: string,
  path = "",
): Promise<TreeFile[]> {
  const what = `file list of ${id}`;
  const rev = encodeURIComponent(revision);
  let url: string | null = `${client.endpoint}/api/datasets/${id}/tree/${rev}` +
    (path ? `/${encodePath(path)}` : "") + "?recursive=true";
  const files: TreeFile[] = [];
  while (url) {
    const res = await getWithRetry(client, url, hubHeaders(client), what);
    if (!res.ok) await throwForStatus(res, what, client);
    for (const e of await res.json() as RawTreeEntry[]) {
      if (e.type !== "file") continue;
      files.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid ?? null });
    }
    url = nextLink(res.headers.get("link"), url);
  }
  return files;
}

/** The `rel="next"` target of a Link header, resolved against the current URL. */
export function nextLink(header: string | null, current: string): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const m = part.match(/<([^>]+)>\s*;\s*rel="?next"?/);
    if (m) return new URL(m[1], current).toString();
  }
  return null;
}

/** Percent-encodes each segment of a repo path, keeping the slashes. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** URL of a file's content: `/datasets/<id>/resolve/<rev>/<path>` (the Hub redirects to a CDN). */
export function resolveUrl(client: HubClient, id: string, revision: string, path: string): string {
  return `${client.endpoint}/datasets/${id}/resolve/${encodeURIComponent(revision)}/${
    encodePath(path)
  }`;
}

/**
 * The parquet conversion listing, `GET /api/datasets/<id>/parquet`: config → split → file URLs.
 */
export function parquetConversion(
  client: HubClient,
  id: string,
): Promise<Record<string, Record<string, string[]>>> {
  return getJson(client, `/api/datasets/${id}/parquet`, `parquet files of ${id}`);
}

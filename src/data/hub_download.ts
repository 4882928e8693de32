/**
 * Downloads one file resumably: bytes go to `<dest>.partial`, an interrupted transfer continues
 * with an HTTP Range request, transient failures are retried with backoff, size and sha256 are
 * verified, and only a verified file is renamed into place.
 */

import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { UserError } from "../util/errors.ts";
import {
  backoff,
  type HubClient,
  hubHeaders,
  HubTimeoutError,
  isTransientStatus,
  throwForStatus,
  timedFetch,
} from "./hub_api.ts";

/** What to fetch and what it must turn out to be. */
export interface FileDownload {
  url: string;
  dest: string;
  /** Expected size in bytes, when known. */
  size: number | null;
  /** Expected sha256 (hex), when the Hub gave one. */
  sha256: string | null;
  /** Name used in messages. */
  label: string;
}

/** Called as bytes arrive: bytes of this file so far, and its total (null when unknown). */
export type OnBytes = (done: number, total: number | null) => void;

/** Suffix of the temp file a download writes before it is verified. */
export const PARTIAL_SUFFIX = ".partial";

/** sha256 (hex) of a file, read in chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

function isDiskFull(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /os error 28|ENOSPC|No space left|os error 122|quota exceeded/i.test(msg);
}

/** Total size from a 206's `Content-Range: bytes a-b/total`, or from a 200's Content-Length. */
function totalFromHeaders(res: Response): number | null {
  const range = res.headers.get("content-range")?.match(/\/(\d+)\s*$/);
  if (range) return Number(range[1]);
  const len = res.headers.get("content-length");
  return res.status === 200 && len !== null ? Number(len) : null;
}

/**
 * Downloads `job.url` to `job.dest` (see the module comment). Returns the bytes transferred in
 * this call (a resumed file counts only the new bytes).
 */
export async function downloadFile(
  client: HubClient,
  job: FileDownload,
  onBytes: OnBytes = () => {},
): Promise<number> {
  const partial = job.dest + PARTIAL_SUFFIX;
  await Deno.mkdir(dirname(job.dest), { recursive: true });
  let transferred = 0;
  let total = job.size;
  for (let attempt = 0;; attempt++) {
    let have = await fileSize(partial);
    if (total !== null && have > total) {
      await Deno.remove(partial); // more than the file can hold: start over
      have = 0;
    }
    if (total !== null && have === total) break;
    let retryable: unknown = null;
    try {
      const headers = hubHeaders(client, have > 0 ? { Range: `bytes=${have}-` } : {});
      const res = await timedFetch(client, job.url, { headers });
      if (res.status === 416 && have > 0) {
        // The server has no bytes past ours: the partial file is complete (verified below).
        await res.body?.cancel();
        total ??= have;
        break;
      }
      if (isTransientStatus(res.status)) {
        await res.body?.cancel();
        retryable = new Error(`HTTP ${res.status}`);
      } else if (!res.ok) {
        await throwForStatus(res, job.label, client);
      } else {
        const resumed = res.status === 206;
        total ??= totalFromHeaders(res);
        const body = await writeBody(res, partial, resumed, resumed ? have : 0, total, onBytes);
        transferred += body.bytes;
        const now = await fileSize(partial);
        if (body.cut === null && (total === null || now >= total)) {
          total ??= now;
          break;
        }
        retryable = new Error(
          `${body.cut ?? "connection closed"} after ${now} of ${total ?? "?"} bytes`,
        );
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (isDiskFull(err)) {
        throw new UserError(
          `disk full while writing ${job.dest}; free some space and run again to resume`,
        );
      }
      retryable = err;
    }
    if (attempt >= client.retries) {
      throw new UserError(
        `${job.label}: download failed after ${attempt + 1} attempts ` +
          `(${(retryable as Error)?.message ?? retryable}); run again to resume`,
      );
    }
    await backoff(client, attempt);
  }
  await verify(partial, job, total);
  await Deno.rename(partial, job.dest);
  return transferred;
}

async function writeBody(
  res: Response,
  partial: string,
  append: boolean,
  start: number,
  total: number | null,
  onBytes: OnBytes,
): Promise<{ bytes: number; cut: string | null }> {
  const file = await Deno.open(partial, {
    write: true,
    create: true,
    append,
    truncate: !append,
  });
  let done = start;
  let cut: string | null = null;
  try {
    if (!res.body) return { bytes: 0, cut };
    for await (const chunk of res.body) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
      done += chunk.length;
      onBytes(done, total);
    }
  } catch (err) {
    if (isDiskFull(err)) throw err;
    // A cut or stalled connection: keep what arrived; the caller resumes from the partial
    // file's size (a timeout is the reason it reports if the retries run out).
    cut = err instanceof HubTimeoutError ? err.message : "connection cut";
  } finally {
    file.close();
  }
  return { bytes: done - start, cut };
}

async function verify(partial: string, job: FileDownload, total: number | null): Promise<void> {
  const size = await fileSize(partial);
  const expected = job.size ?? total;
  if (expected !== null && size !== expected) {
    await Deno.remove(partial).catch(() => {});
    throw new UserError(
      `${job.label}: size mismatch (expected ${expected} bytes, got ${size}); removed`,
    );
  }
  if (job.sha256) {
    const got = await sha256File(partial);
    if (got !== job.sha256.toLowerCase()) {
      await Deno.remove(partial).catch(() => {});
      throw new UserError(
        `${job.label}: checksum mismatch (sha256 expected ${job.sha256}, got ${got}); ` +
          `the file was removed`,
      );
    }
  }
}

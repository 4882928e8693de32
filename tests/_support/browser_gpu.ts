/**
 * Chromium's WebGPU (Dawn/Tint on SwiftShader) as kiln's second implementation in tests: bundle
 * kiln (or kiln's own test files) for the browser with `deno bundle`, serve it from 127.0.0.1 (a
 * secure context, which WebGPU needs), open it in headless Chromium and read back what the page
 * reports.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Chromium flags that give headless Chromium a WebGPU adapter without network chatter. */
export const WEBGPU_CHROMIUM_ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Launches headless Chromium at `executablePath` with WebGPU enabled. */
export function launchWebGpuChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: WEBGPU_CHROMIUM_ARGS });
}

/**
 * A classic script that runs before the bundle: it stands in for the few `Deno` members kiln's
 * test files touch at load time (`Deno.test` registers into `__kilnTests`, `Deno.env.get` reads
 * `env`), so the same test files run unchanged in the page.
 */
export function denoTestShim(env: Record<string, string> = {}): string {
  return `globalThis.__kilnTests = [];
globalThis.Deno = {
  test(a, b) {
    const t = typeof a === "string" ? { name: a, fn: b } : typeof a === "function" ? { name: a.name, fn: a } : a;
    globalThis.__kilnTests.push(t);
  },
  env: { get: (k) => (${JSON.stringify(env)})[k] },
};`;
}

/**
 * Bundles `entry` (a path relative to the repository) for the browser. With `testShims`,
 * `node:assert/strict` resolves to tests/_support/browser_assert.ts so test files bundle too.
 */
export async function bundleForBrowser(entry: string, opts: { testShims?: boolean } = {}) {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "bundle.js");
    const args = ["bundle", "--quiet", "--platform", "browser", "-o", out];
    if (opts.testShims) {
      const config = JSON.parse(await Deno.readTextFile(join(REPO, "tests", "deno.json")));
      const imports: Record<string, string> = {};
      for (const [k, v] of Object.entries(config.imports as Record<string, string>)) {
        imports[k] = v.startsWith(".") ? join(REPO, "tests", v) : v;
      }
      imports["node:assert/strict"] = join(REPO, "tests/_support/browser_assert.ts");
      const map = join(dir, "import_map.json");
      await Deno.writeTextFile(map, JSON.stringify({ imports }));
      args.push("--import-map", map);
    }
    args.push(join(REPO, entry));
    const run = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, stderr: "piped" })
      .output();
    if (!run.success) {
      throw new Error(`deno bundle ${entry} failed: ${new TextDecoder().decode(run.stderr)}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A file the test server hands out: its body and content type. */
export interface ServedFile {
  body: string | Uint8Array;
  type: string;
}

/** A page opened on a local server: the page, its console lines and a close() for both. */
export interface OpenedPage {
  page: Page;
  url: string;
  console: string[];
  close(): Promise<void>;
}

/** Serves `files` (path → file) on 127.0.0.1 and opens `path` in a new page of `browser`. */
export async function openServedPage(
  browser: Browser,
  files: Record<string, ServedFile>,
  path = "/index.html",
): Promise<OpenedPage> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const file = files[path];
    if (!file) return new Response("not found", { status: 404 });
    return new Response(file.body as BodyInit, { headers: { "content-type": file.type } });
  });
  const url = `http://127.0.0.1:${server.addr.port}${path}`;
  const page = await browser.newPage();
  const lines: string[] = [];
  page.on("console", (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => lines.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return {
    page,
    url,
    console: lines,
    async close() {
      await page.close();
      await server.shutdown();
    },
  };
}

/**
 * Waits until the page sets `globalThis[name]` and returns it; fails at once when the page
 * reports an error (a module that failed to load would otherwise just time out).
 */
export async function waitForGlobal<T>(opened: OpenedPage, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await opened.page.evaluate(
      (n) => (globalThis as Record<string, unknown>)[n],
      name,
    );
    if (value !== undefined) return value as T;
    const failure = opened.console.find((l) => /^(pageerror|error): /.test(l));
    if (failure) throw new Error(`page failed before ${name} was set: ${failure}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `page did not set ${name} within ${timeoutMs} ms:\n${opened.console.slice(-20).join("\n")}`,
  );
}

/** A page that loads the Deno shim, then `bundle` as a module. */
export function shimmedPage(bundle: string, env: Record<string, string> = {}) {
  return {
    "/index.html": {
      type: "text/html",
      body: `<!doctype html><meta charset="utf-8"><script src="/shim.js"></script>` +
        `<script type="module" src="/bundle.js"></script>`,
    },
    "/shim.js": { type: "text/javascript", body: denoTestShim(env) },
    "/bundle.js": { type: "text/javascript", body: bundle },
  } satisfies Record<string, ServedFile>;
}

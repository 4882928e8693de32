/**
 * The page's files. The page itself is read from `src/viz/static/` next to this module (so a
 * `deno compile --include src/viz/static` binary carries it), and uPlot comes from the pinned npm
 * package as text imports, which the compiler embeds too. No build step, no CDN.
 */

import { uplotScript, uplotStyle } from "../deps_assets.ts";

/** A file the server can send. */
export interface Asset {
  body: Uint8Array;
  contentType: string;
}

const STATIC_FILES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/app.js": "app.js",
  "/series_select.js": "series_select.js",
  "/style.css": "style.css",
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

const encoder = new TextEncoder();
const VENDOR: Record<string, Asset> = {
  "/vendor/uPlot.iife.min.js": { body: encoder.encode(uplotScript), contentType: CONTENT_TYPES.js },
  "/vendor/uPlot.min.css": { body: encoder.encode(uplotStyle), contentType: CONTENT_TYPES.css },
};

/**
 * The asset served at `pathname`, or null. Only the fixed names above are served; the request
 * path is a key into that table, never part of a file path.
 */
export async function loadAsset(pathname: string): Promise<Asset | null> {
  const vendored = VENDOR[pathname];
  if (vendored) return vendored;
  const name = Object.hasOwn(STATIC_FILES, pathname) ? STATIC_FILES[pathname] : undefined;
  if (!name) return null;
  const body = await Deno.readFile(new URL(`./static/${name}`, import.meta.url));
  return { body, contentType: CONTENT_TYPES[name.split(".").pop()!] };
}

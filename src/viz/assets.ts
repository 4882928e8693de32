/**
 * The page's files: `src/viz/static/` and uPlot (from the pinned npm package) as text imports, so
 * they are part of the module graph and `deno compile` / `deno bundle` carry them with no
 * `--include`. No build step, no CDN, no file system access when serving.
 */

import { uplotScript, uplotStyle } from "../deps_assets.ts";
import appJs from "./static/app.js" with { type: "text" };
import indexHtml from "./static/index.html" with { type: "text" };
import seriesSelectJs from "./static/series_select.js" with { type: "text" };
import styleCss from "./static/style.css" with { type: "text" };

/** A file the server can send. */
export interface Asset {
  body: Uint8Array;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

const encoder = new TextEncoder();
const page: Asset = { body: encoder.encode(indexHtml), contentType: CONTENT_TYPES.html };
const ASSETS: Record<string, Asset> = {
  "/": page,
  "/index.html": page,
  "/app.js": { body: encoder.encode(appJs), contentType: CONTENT_TYPES.js },
  "/series_select.js": { body: encoder.encode(seriesSelectJs), contentType: CONTENT_TYPES.js },
  "/style.css": { body: encoder.encode(styleCss), contentType: CONTENT_TYPES.css },
  "/vendor/uPlot.iife.min.js": { body: encoder.encode(uplotScript), contentType: CONTENT_TYPES.js },
  "/vendor/uPlot.min.css": { body: encoder.encode(uplotStyle), contentType: CONTENT_TYPES.css },
};

/**
 * The asset served at `pathname`, or null. Only the fixed names above are served; the request
 * path is a key into that table, never part of a file path.
 */
export function loadAsset(pathname: string): Promise<Asset | null> {
  return Promise.resolve(Object.hasOwn(ASSETS, pathname) ? ASSETS[pathname] : null);
}

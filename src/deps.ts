/**
 * Every npm package kiln imports at run time, by full `npm:name@version` specifier. Importing
 * through this module (never a bare `"zod"`) is what lets a script in any directory import
 * `mod.ts` or `web.ts` by path or URL without kiln's deno.json. The versions equal the root
 * import map's (tests/cli/import_anywhere_test.ts checks it).
 *
 * @module
 */

export { z } from "npm:zod@4.6.7";
export { default as YAML, parse as parseYaml } from "npm:yaml@2.9.1";
export {
  type AsyncBuffer,
  type Compressors,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
} from "npm:hyparquet@1.31.5";

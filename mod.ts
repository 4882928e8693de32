/**
 * kiln's public library API. Re-exports only; names here are stable (see DESIGN.md).
 *
 * @module
 */

export { UserError } from "./src/util/errors.ts";

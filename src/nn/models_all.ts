/**
 * Importing this module registers every architecture (the built-in `gpt` is registered by
 * `registry.ts` itself). A new one adds one import line here; a module that calls
 * `registerModel` cannot be imported by `registry.ts`, whose table it writes into.
 *
 * @module
 */

import "./encdec_models.ts";

export { checkModelName, createGpt, createModel, modelNames, registerModel } from "./registry.ts";

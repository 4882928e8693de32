/**
 * The config-side view of data-source kinds: for each `data.source` value, the zod schema of the
 * rest of the `data` section. `src/data/sources.ts` registers into it; keeping the table here lets
 * config validation stay a leaf that imports nothing from `data/`.
 */

import type { z } from "../deps.ts";

/** A `data` section schema: the keys a kind accepts besides `source`. */
export type DataSchema = z.ZodObject;

const dataSchemas = new Map<string, DataSchema>();

/** Registers (or replaces) the `data` schema of the source kind `name`. */
export function registerDataSchema(name: string, schema: DataSchema): void {
  dataSchemas.set(name, schema);
}

/** The `data` schema registered for `name`, or undefined. */
export function dataSchemaFor(name: string): DataSchema | undefined {
  return dataSchemas.get(name);
}

/** Names of all registered source kinds, sorted. */
export function dataKindNames(): string[] {
  return [...dataSchemas.keys()].sort();
}

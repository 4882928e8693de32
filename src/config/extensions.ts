/**
 * Open config: the keys plugins add. A registered model may declare its own `model.*` keys
 * (`registerModel(name, factory, { configSchema })`) and a plugin may declare keys of
 * `training.extra` (`registerTrainingExtra`). Validation, defaults, command-line overrides and
 * sweeps then treat them like built-in keys. Kept on the config side (no imports from nn/ or
 * train/) so that config validation stays a leaf.
 *
 * @module
 */

import { z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { BUILTIN_MODEL_KEYS } from "./schema.ts";

const modelSchemas = new Map<string, z.ZodObject>();
const extraSchemas = new Map<string, z.ZodObject>();

/**
 * Records the `model.*` keys of the model `name`. A key that is also a built-in model key is a
 * UserError (it would silently change what the built-in key means).
 */
export function registerModelSchema(name: string, schema: z.ZodObject): void {
  if (!(schema instanceof z.ZodObject)) {
    throw new UserError(`registerModel("${name}"): configSchema must be a z.object({...})`);
  }
  const clash = Object.keys(schema.shape).filter((k) => BUILTIN_MODEL_KEYS.includes(k));
  if (clash.length) {
    throw new UserError(
      `registerModel("${name}"): configSchema key ${
        clash.map((k) => `"${k}"`).join(", ")
      } collides with a built-in model key; rename it`,
    );
  }
  modelSchemas.set(name, schema);
}

/** Forgets the schema of `name` (the model registry's own rollback on a failed registration). */
export function unregisterModelSchema(name: string): void {
  modelSchemas.delete(name);
}

/** The keys the model `name` declared, if any. */
export function modelSchemaFor(name: string): z.ZodObject | undefined {
  return modelSchemas.get(name);
}

/**
 * Declares keys of `training.extra` (validated, defaulted, overridable and sweepable like any
 * key) under an owner name for messages. Two plugins declaring the same key is a UserError.
 *
 * @example
 * ```ts
 * registerTrainingExtra("corrupt", z.object({ corruption_frac: z.number().min(0).max(1).default(0) }));
 * ```
 */
export function registerTrainingExtra(owner: string, schema: z.ZodObject): void {
  if (!(schema instanceof z.ZodObject)) {
    throw new UserError(`registerTrainingExtra("${owner}"): schema must be a z.object({...})`);
  }
  const previous = extraSchemas.get(owner);
  if (previous && previous !== schema) {
    throw new UserError(`registerTrainingExtra: "${owner}" is already registered`);
  }
  for (const [other, s] of extraSchemas) {
    if (other === owner) continue;
    const clash = Object.keys(schema.shape).filter((k) => k in s.shape);
    if (clash.length) {
      throw new UserError(
        `registerTrainingExtra("${owner}"): training.extra.${
          clash[0]
        } is already declared by "${other}"`,
      );
    }
  }
  extraSchemas.set(owner, schema);
}

/** Forgets `owner`'s `training.extra` keys (tests). */
export function unregisterTrainingExtra(owner: string): void {
  extraSchemas.delete(owner);
}

/** All declared `training.extra` keys as one strict object (empty when no plugin declares any). */
export function trainingExtraSchema(): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const s of extraSchemas.values()) Object.assign(shape, s.shape);
  return z.strictObject(shape);
}

/** Owners of `training.extra` keys, for messages. */
export function trainingExtraOwners(): string[] {
  return [...extraSchemas.keys()].sort();
}

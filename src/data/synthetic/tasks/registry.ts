/** The task registry: `data.task: multiplication` with `data.params`. A failed lookup lists names. */

import { UserError } from "../../../util/errors.ts";
import { modular_addition, multiplication } from "./arithmetic.ts";
import { copy, histogram, reverse, sort } from "./strings.ts";
import type { Task, TaskParams } from "./task.ts";

/** Makes a task from its parameters (missing ones take the documented defaults). */
export type TaskFactory = (params?: TaskParams) => Task;

/**
 * The built-in tasks by name.
 *
 * @example
 * ```ts
 * const t = tasks.multiplication({ digits: 4, order: "lsb" });
 * ```
 */
export const tasks = { multiplication, modular_addition, copy, reverse, sort, histogram } as const;

const registry = new Map<string, TaskFactory>(Object.entries(tasks) as [string, TaskFactory][]);

/** Adds a task kind that configs can name; refuses to replace an existing name. */
export function registerTask(name: string, factory: TaskFactory): void {
  if (registry.has(name)) throw new Error(`task "${name}" is already registered`);
  registry.set(name, factory);
}

/** Names every registered task, sorted. */
export function taskNames(): string[] {
  return [...registry.keys()].sort();
}

/** Builds the named task; an unknown name is a UserError listing the known ones. */
export function createTask(name: string, params: TaskParams = {}): Task {
  const factory = registry.get(name);
  if (!factory) throw new UserError(`unknown task "${name}"; known: ${taskNames().join(", ")}`);
  return factory(params);
}

/**
 * Importing this module registers every batch-source kind. A new kind adds one import line here.
 *
 * @module
 */

import "./text_source.ts";
import "./shard_source.ts";
import "./synthetic/process_source.ts";
import "./synthetic/tasks/task_source.ts";

export { createSource, registerSource, sourceKind, sourceKinds } from "./sources.ts";

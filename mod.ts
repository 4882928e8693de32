/**
 * kiln's public library API. Re-exports only; names here are stable (see DESIGN.md).
 *
 * @module
 */

export { UserError } from "./src/util/errors.ts";
export { Device } from "./src/gpu/device.ts";
export { noGrad, Tensor } from "./src/tensor/tensor.ts";
export type { DType } from "./src/tensor/tensor.ts";
export { ops } from "./src/tensor/ops.ts";
export {
  getDatasetEntry,
  listDatasets,
  loadDatasetRegistry,
  openDocuments,
  registerDataset,
} from "./src/data/registry.ts";
export type { DatasetEntry, OpenDocumentsOptions } from "./src/data/registry.ts";
export { isValDocument, splitDocuments } from "./src/data/split.ts";

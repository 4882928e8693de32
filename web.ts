/**
 * kiln's browser-safe library API: the engine, models, optimizer, synthetic data and sampling,
 * under the same names as in `mod.ts`. Nothing reachable from here uses a Deno or Node API, so
 * `deno bundle --platform browser web.ts` gives one file that trains in a browser tab.
 *
 * @example
 * ```ts
 * import { Device, GPT, AdamW, ProcessSource, processes, optimalLoss } from "./web.ts";
 * const dev = await Device.open();
 * ```
 *
 * @module
 */

export { GpuError, UserError } from "./src/util/errors.ts";
export { Device } from "./src/gpu/device.ts";
export type { AdapterInfo, DeviceOptions } from "./src/gpu/device.ts";
export type { TuneCache } from "./src/gpu/autotune.ts";
export { WEBGPU_DEFAULT_LIMITS } from "./src/gpu/limits.ts";
export type { LimitsMode } from "./src/gpu/limits.ts";
export { SHADERS } from "./src/gpu/shader_loader.ts";
export { noGrad, Tensor, tidy } from "./src/tensor/tensor.ts";
export type { DType } from "./src/tensor/tensor.ts";
export { ops } from "./src/tensor/ops.ts";
export { ParameterSet } from "./src/tensor/parameters.ts";
export {
  createProcess,
  processes,
  processNames,
  registerProcess,
} from "./src/data/synthetic/processes.ts";
export { Process } from "./src/data/synthetic/process.ts";
export type { ProcessSpec } from "./src/data/synthetic/process.ts";
export {
  entropyRate,
  myopicEntropies,
  optimalLoss,
  reachableBeliefs,
} from "./src/data/synthetic/theory.ts";
export {
  generatorLength,
  modelContextLength,
  modelVocabSize,
} from "./src/data/synthetic/sequence.ts";
export { ProcessSource } from "./src/data/synthetic/process_source.ts";
export { createTask, registerTask, taskNames, tasks } from "./src/data/synthetic/tasks/registry.ts";
export type { Task, TaskSample } from "./src/data/synthetic/tasks/task.ts";
export { TaskSource } from "./src/data/synthetic/tasks/task_source.ts";
export { AdamW } from "./src/optim/adamw.ts";
export type { AdamWOptions, AdamWState, FlatParameters } from "./src/optim/adamw.ts";
export { learningRate } from "./src/optim/schedule.ts";
export type { LrDecay, LrSchedule } from "./src/optim/schedule.ts";
export {
  attentionProbabilities,
  Block,
  CausalSelfAttention,
  ForwardContext,
  GPT,
  MLP,
} from "./src/nn/gpt.ts";
export type { AttentionCache, ForwardOptions, ForwardResult, GPTConfig } from "./src/nn/gpt.ts";
export { countGptParams, gptFlopsPerToken } from "./src/nn/gpt_config.ts";
export { createGpt, createModel, modelNames, registerModel } from "./src/nn/registry.ts";
export type { LanguageModel, ModelFactory } from "./src/nn/registry.ts";
export { KVCache } from "./src/nn/kv_cache.ts";
export { generate } from "./src/eval/generate.ts";
export type { GenerateOptions, GenerateResult } from "./src/eval/generate.ts";
export { sampleToken, SamplingRng, validateSampling } from "./src/eval/sampling.ts";
export type { SamplingOptions } from "./src/eval/sampling.ts";
export { fitAffine, predictAll, scoreFit } from "./src/eval/probe_fit.ts";
export type { AffineFit, FitScore, ProbeData } from "./src/eval/probe_fit.ts";

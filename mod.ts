/**
 * kiln's public library API. Re-exports only; names here are stable (see DESIGN.md).
 *
 * @module
 */

export { UserError } from "./src/util/errors.ts";
export { Device } from "./src/gpu/device.ts";
export { noGrad, stepScope, Tensor, tidy, untracked } from "./src/tensor/tensor.ts";
export { checkpoint } from "./src/tensor/checkpoint.ts";
export { observeAttention } from "./src/tensor/ops/attention.ts";
export type { AttentionReport } from "./src/tensor/ops/attention.ts";
export type { DType } from "./src/tensor/tensor.ts";
export { ops } from "./src/tensor/ops.ts";
export { ParameterSet } from "./src/tensor/parameters.ts";
export {
  getDatasetEntry,
  listDatasets,
  loadDatasetRegistry,
  openDocuments,
  registerDataset,
} from "./src/data/registry.ts";
export type { DatasetEntry, OpenDocumentsOptions } from "./src/data/registry.ts";
export { isValDocument, splitDocuments } from "./src/data/split.ts";
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
export { downloadDataset } from "./src/data/hub.ts";
export type { DownloadOptions, DownloadResult } from "./src/data/hub.ts";
export { configToYaml, loadConfig, loadConfigs } from "./src/config/load.ts";
export type { Config, ModelConfig, TrainingConfig } from "./src/config/schema.ts";
export { createSource, registerSource, sourceKinds } from "./src/data/sources_all.ts";
export type { SourceContext, SourceKind, TrainingSource } from "./src/data/sources.ts";
export { CharTokenizer } from "./src/tokenizer/char.ts";
export { Tokenizer } from "./src/tokenizer/tokenizer.ts";
export type { SpecialToken, TokenizerParts } from "./src/tokenizer/tokenizer.ts";
export type { TokenizerJson } from "./src/tokenizer/tokenizer_json.ts";
export { trainTokenizer } from "./src/tokenizer/trainer.ts";
export type { TrainTokenizerOptions } from "./src/tokenizer/trainer.ts";
export { analyzeDataset } from "./src/tokenizer/analyze.ts";
export type { AnalyzeOptions, DatasetAnalysis, VocabReport } from "./src/tokenizer/analyze.ts";
export { pretokenizeDataset } from "./src/tokenizer/pretokenize.ts";
export type { PretokenizeOptions, PretokenizeResult } from "./src/tokenizer/pretokenize.ts";
export { listShards, loadShards, readShard, writeShard } from "./src/data/shards.ts";
export type { LoadedShard, ShardTokens } from "./src/data/shards.ts";
export { train } from "./src/train/trainer.ts";
export type { TrainOptions, TrainResult } from "./src/train/trainer.ts";
export { launchTraining } from "./src/train/launch.ts";
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
export {
  checkModelName,
  createGpt,
  createModel,
  modelNames,
  registerModel,
} from "./src/nn/registry.ts";
export type { LanguageModel, ModelFactory } from "./src/nn/registry.ts";
export { readSafetensors, writeSafetensors } from "./src/nn/safetensors.ts";
export type { SafetensorsFile, SafetensorsTensor } from "./src/nn/safetensors.ts";
export { loadHfGpt2 } from "./src/nn/hf_gpt2.ts";
export { startVizServer, type VizServer, type VizServerOptions } from "./src/viz/server.ts";
export { RunIndex, type RunSummary } from "./src/viz/run_index.ts";
export { listRuns } from "./src/viz/runs_table.ts";
export { downsampleMinMax } from "./src/viz/downsample.ts";
export { KVCache } from "./src/nn/kv_cache.ts";
export type { CachedForwardOptions } from "./src/nn/kv_cache.ts";
export { loadModel } from "./src/eval/load.ts";
export type { LoadedModel } from "./src/eval/load.ts";
export { evaluateModel as evaluate } from "./src/eval/evaluate.ts";
export type { ModelEvaluation } from "./src/eval/evaluate.ts";
export { chatModel, generate } from "./src/eval/generate.ts";
export type { GenerateOptions, GenerateResult } from "./src/eval/generate.ts";
export { perplexities, sequenceLosses } from "./src/eval/perplexities.ts";
export type { LinePerplexity, PerplexityReport } from "./src/eval/perplexities.ts";
export { attentionPatterns, residualStream } from "./src/eval/inspect.ts";
export type { HeadPattern } from "./src/eval/inspect.ts";
export { verifyModel } from "./src/eval/verify.ts";
export type { VerifyReport } from "./src/eval/verify.ts";
export type { TextCodec } from "./src/eval/codec.ts";
export { sampleToken, SamplingRng, validateSampling } from "./src/eval/sampling.ts";
export type { SamplingOptions } from "./src/eval/sampling.ts";
export {
  enumerateBeliefInputs,
  loadProcessModel,
  runProbe,
  writeProbeReport,
} from "./src/eval/probe.ts";
export type { ProbeOptions, ProbeReport } from "./src/eval/probe.ts";
export { formatDemoSummary, runDemo } from "./src/eval/demo.ts";
export { z } from "./src/deps.ts";
export { registerTrainingHooks } from "./src/train/hooks.ts";
export type { BatchContext, HookContext, HookRng, TrainingHooks } from "./src/train/hooks.ts";
export { registerTrainingExtra } from "./src/config/extensions.ts";
export type { RegisterModelOptions } from "./src/nn/registry.ts";
export type { Batch } from "./src/data/batch.ts";
export type { ResolvedConfig } from "./src/nn/gpt_config.ts";
export type { ParamBuilder } from "./src/nn/params.ts";

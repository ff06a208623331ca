/*
 * @tfleet/ml: the TensorFlow.js side of tfleet. Everything outside libs/ml imports it from
 * here; what is not listed is internal and may change with the engine.
 */

// Backends: pick and start one in this thread; the project's wasm kernels on and off (the bench compares with stock).
export { BackendUnavailableError, initBackend, isNativeBackend, needsRankProcesses, type BackendInfo, type BackendOptions } from './backend/backend';
// WebGPU (Dawn): adapters, the cheap probe that keeps `auto` fast without a GPU, rank placement.
export { listAdapters, webgpuBufferCounts, webgpuRankAdapters, type ListedAdapter, type WebGpuBufferCounts } from './backend/webgpu';
export { probeWebGpu, type WebGpuProbe } from './backend/webgpu-probe';
export { registerWasmKernels, unregisterWasmKernels } from './backend/wasm-kernels';

// Data: a spec's dataset as tensors-to-be, with its task's shapes; the seeded generator every loader uses.
export { loadDataset, type LoadDatasetOptions } from './data/load-dataset';
export type { DataSplit, SampleSpec, TaskData, TaskInfo } from './data/dataset';
export { SeededRandom } from './data/rng';

// Models and the layers they are built from.
export { buildModel, countParameters } from './models/build-model';
export { CallMemo, FusedGRU, FusedLayerNormalization, FusedLSTM, FusedSimpleRNN, MultiHeadAttention, PositionEmbedding } from './layers';

// Training: one rank's whole run, and the pieces the bench times on their own.
export { runTrainingRank } from './training/run-rank';
export { Trainer, type StepTimings, type TrainerOptions } from './training/trainer';
export { FusedAdam } from './training/fused-adam';
export { createOptimizer } from './training/optimizers';
export { perSampleLoss } from './training/objectives';
export { sparseSoftmaxCrossEntropy } from './training/sparse-cross-entropy';
export { shardRange } from './training/batches';

// Inference: a trained checkpoint answering predictions (the API's prediction thread).
export { PredictionHandler } from './inference/prediction-handler';
export { loadPredictor, PredictInputError, type Predictor } from './inference/predictor';
export { ModelCache } from './inference/model-cache';

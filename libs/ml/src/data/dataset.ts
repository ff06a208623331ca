import type { MetricValues, TaskKind } from '@tfleet/contracts';

export type SampleDType = 'float32' | 'int32';
export type SampleArray = Float32Array | Int32Array;

/** Shape and dtype of one sample of one model input or of the target (no batch axis). */
export interface SampleSpec {
  name: string;
  shape: number[];
  dtype: SampleDType;
}

/**
 * One split held as flat typed arrays: `inputs[k]` holds `size * prod(inputSpecs[k].shape)`
 * values, sample after sample. Plain arrays so a split can be built once and shared.
 */
export interface DataSplit {
  readonly size: number;
  readonly inputs: readonly SampleArray[];
  readonly target: SampleArray;
}

/** Sizes a model builder needs to know about the data. */
export interface TaskInfo {
  task: TaskKind;
  inputSpecs: SampleSpec[];
  targetSpec: SampleSpec;
  /** Classes for classification, output vocabulary for token targets. */
  numClasses: number;
  /** Input token vocabulary (token inputs only). */
  inputVocabSize?: number;
  /** Token id used for padding in inputs and targets (masked out of losses). */
  padId?: number;
  /** Decoder start token for seq2seq. */
  startId?: number;
  /** End-of-sequence token for seq2seq decoding. */
  endId?: number;
  /** Token id that replaces masked positions (BERT pretraining). */
  maskId?: number;
}

/** A loaded task: the three fixed splits plus what must be saved with a model trained on it. */
export interface TaskData extends TaskInfo {
  datasetName: string;
  train: DataSplit;
  validation: DataSplit;
  test: DataSplit;
  /** Tokenizer vocabularies and similar, stored with checkpoints; JSON-serialisable. */
  artifacts: Record<string, unknown>;
  /** Reference figures on the test split (e.g. unigram/bigram perplexity, majority class). */
  baselines(): MetricValues;
}

export function sampleSize(spec: SampleSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

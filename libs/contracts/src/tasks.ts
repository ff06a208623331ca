import type { DatasetName, ExperimentSpec, ModelFamily } from './experiment-spec';

/** What a data set asks a model to do; decides the head, the loss and the metrics. */
export type TaskKind =
  | 'image-classification'
  | 'sequence-classification'
  | 'language-modelling'
  | 'seq2seq'
  | 'sequence-regression';

export const DATASET_TASKS: Readonly<Record<DatasetName, TaskKind>> = {
  mnist: 'image-classification',
  'synthetic-images': 'image-classification',
  brown: 'language-modelling',
  cmudict: 'seq2seq',
  adding: 'sequence-regression',
  copy: 'seq2seq',
  'spam-assassin': 'sequence-classification',
};

export const FAMILIES_BY_TASK: Readonly<Record<TaskKind, readonly ModelFamily[]>> = {
  'image-classification': ['cnn'],
  'sequence-classification': ['cnn', 'simple-rnn', 'lstm', 'gru', 'transformer', 'bert'],
  'language-modelling': ['simple-rnn', 'lstm', 'gru', 'transformer', 'bert'],
  seq2seq: ['simple-rnn', 'lstm', 'gru', 'transformer'],
  'sequence-regression': ['cnn', 'simple-rnn', 'lstm', 'gru', 'transformer'],
};

/** One problem with a spec, named by the dotted path of the offending field. */
export interface SpecIssue {
  field: string;
  message: string;
}

/**
 * Rules that span fields and so cannot live in the schema of one object:
 * family-task fit, attention heads dividing the model width, batch vs ranks.
 */
export function crossFieldIssues(spec: ExperimentSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const task = DATASET_TASKS[spec.dataset.name];
  const fitting = FAMILIES_BY_TASK[task];
  if (!fitting.includes(spec.model.family)) {
    issues.push({
      field: 'model.family',
      message: `family '${spec.model.family}' does not fit ${task} on '${spec.dataset.name}'; families that fit: ${fitting.join(', ')}`,
    });
  }
  const model = spec.model;
  if ((model.family === 'transformer' || model.family === 'bert') && model.dModel % model.heads !== 0) {
    issues.push({ field: 'model.heads', message: `heads (${model.heads}) must divide dModel (${model.dModel})` });
  }
  if (model.family === 'transformer' && model.encoderLayers + model.decoderLayers === 0) {
    issues.push({ field: 'model.encoderLayers', message: 'a transformer needs at least one encoder or decoder layer' });
  }
  if (model.family === 'bert' && model.pretrainedFrom !== undefined && task !== 'sequence-classification') {
    issues.push({ field: 'model.pretrainedFrom', message: 'fine-tuning from a pretrained BERT applies to sequence classification data sets' });
  }
  if (spec.training.ranks !== undefined && spec.training.batchSize < spec.training.ranks) {
    issues.push({
      field: 'training.batchSize',
      message: `batchSize (${spec.training.batchSize}) must be at least ranks (${spec.training.ranks})`,
    });
  }
  return issues;
}

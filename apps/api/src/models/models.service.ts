import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import {
  type CheckpointPayload,
  DATASET_TASKS,
  type ExperimentSpec,
  parseWith,
  PREDICT_INPUT_KIND,
  type PredictInput,
  type Prediction,
  predictInputSchemas,
} from '@tfleet/contracts';
import { type ExperimentEntity, ExperimentsRepository } from '@tfleet/persistence';
import { invalidInput } from '../common/zod-validation.pipe';
import { FinalCheckpointReader } from './final-checkpoint.reader';
import { exportModel, type ModelExport } from './model-export';
import { PredictionPool } from './prediction-pool';

const RECURRENT = new Set(['simple-rnn', 'lstm', 'gru']);

/** Export of trained models (model.json, weights, the task's vocabulary) and predictions. */
@Injectable()
export class ModelsService {
  constructor(
    private readonly repository: ExperimentsRepository,
    private readonly checkpoints: FinalCheckpointReader,
    private readonly predictions: PredictionPool,
  ) {}

  async export(id: string): Promise<ModelExport> {
    const experiment = await this.experiment(id);
    if (DATASET_TASKS[experiment.spec.dataset.name] === 'seq2seq' && RECURRENT.has(experiment.spec.model.family)) {
      // tfjs-layers does not serialise the encoder state a recurrent decoder starts from (it
      // travels as a call argument), so a loaded model.json would decode without it.
      throw new ConflictException(
        `experiment ${id} is a ${experiment.spec.model.family} encoder-decoder: its encoder state reaches the decoder through call arguments that model.json cannot describe, so no faithful model.json exists; use POST /api/experiments/${id}/predict`,
      );
    }
    const checkpoint = await this.finalCheckpoint(experiment);
    return exportModel(id, experiment.spec.model.family, checkpoint);
  }

  /** What turns raw inputs into model inputs and outputs back: vocabularies, labels, shapes. */
  async task(id: string): Promise<Record<string, unknown>> {
    const experiment = await this.experiment(id);
    const checkpoint = await this.finalCheckpoint(experiment);
    const spec = experiment.spec;
    return {
      experimentId: id,
      dataset: spec.dataset,
      task: DATASET_TASKS[spec.dataset.name],
      family: spec.model.family,
      predictInput: PREDICT_INPUT_KIND[spec.dataset.name],
      preprocessing: preprocessingOf(spec),
      artifacts: checkpoint.state['artifacts'] ?? {},
    };
  }

  async predict(id: string, body: unknown): Promise<{ experimentId: string; prediction: Prediction; modelLoadMs: number | null }> {
    const experiment = await this.experiment(id);
    const kind = PREDICT_INPUT_KIND[experiment.spec.dataset.name];
    const parsed = parseWith(predictInputSchemas[kind], body);
    if (!parsed.ok) throw invalidInput(`'${kind}' input for a model trained on '${experiment.spec.dataset.name}'`, parsed.issues);
    const input = { ...parsed.value, kind } as PredictInput;
    if (experiment.status !== 'completed') throw this.noModel(experiment);
    const request = { modelKey: `${id}:final`, spec: experiment.spec, input };
    let reply = await this.predictions.run(request);
    if (reply.status === 'needs-model') reply = await this.predictions.run({ ...request, checkpoint: await this.finalCheckpoint(experiment) });
    if (reply.status === 'invalid') throw invalidInput(`'${kind}' input`, [{ field: reply.field, message: reply.message }]);
    if (reply.status === 'needs-model') throw new Error('the prediction thread did not keep the model it was given');
    return { experimentId: id, prediction: reply.prediction, modelLoadMs: reply.modelLoadMs };
  }

  private async experiment(id: string): Promise<ExperimentEntity> {
    const experiment = await this.repository.findById(id);
    if (!experiment) throw new NotFoundException(`experiment ${id} not found`);
    return experiment;
  }

  private async finalCheckpoint(experiment: ExperimentEntity): Promise<CheckpointPayload> {
    if (experiment.status !== 'completed') throw this.noModel(experiment);
    const checkpoint = await this.checkpoints.read(experiment.id);
    if (!checkpoint) throw this.noModel(experiment);
    return checkpoint;
  }

  private noModel(experiment: ExperimentEntity): ConflictException {
    return new ConflictException(
      experiment.status === 'completed'
        ? `experiment ${experiment.id} completed without a final model checkpoint`
        : `experiment ${experiment.id} is ${experiment.status}: only a completed experiment has a final model`,
    );
  }
}

/** How raw inputs become model inputs, per data set, in words a client can follow. */
function preprocessingOf(spec: ExperimentSpec): Record<string, unknown> {
  switch (spec.dataset.name) {
    case 'mnist':
      return { input: 'image [1, 28, 28, 1], float32', pixels: 'grey levels scaled to [0, 1], 0 = background (as the mnist package ships them)', output: 'logits over the 10 digits' };
    case 'synthetic-images':
      return { input: 'image [1, H, W, C], float32 (the data set spec gives the size)', output: 'logits over the classes' };
    case 'brown':
      return { input: `token ids [1, ${spec.dataset.sequenceLength}] from artifacts.tokenizer (${spec.dataset.level} level; word level lower-cases)`, output: `logits [1, ${spec.dataset.sequenceLength}, vocabulary] for the next token at every position` };
    case 'cmudict':
      return { input: ['encoder: letter ids from artifacts.inputVocabulary (lower case), right-padded with 0', 'decoder: <bos> then the phoneme ids so far'], output: 'logits over artifacts.outputVocabulary per decoder position; decode greedily until <eos>' };
    case 'copy':
      return { input: ['encoder: 5 + symbol, then `delay` blanks (3), then the recall marker (4)', 'decoder: start (1) then the symbols so far'], ids: { pad: 0, start: 1, end: 2, blank: 3, recall: 4, firstSymbol: 5 } };
    case 'spam-assassin':
      return { input: `word ids [1, ${spec.dataset.sequenceLength}] from artifacts.tokenizer of the subject then the body (HTML tags removed), right-padded with <pad>`, output: 'logits over artifacts.labels' };
    case 'adding':
      return { input: `[1, ${spec.dataset.sequenceLength}, 2]: per step a value in [0, 1) and a 0/1 marker (two steps marked)`, output: 'the sum of the two marked values' };
  }
}

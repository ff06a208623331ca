import { canonicalJson, shortHash } from './canonical';
import { type DatasetName, type DatasetSpec, type ExperimentSpecInput, datasetSpecSchema } from './experiment-spec';
import { formatIssues, parseWith } from './validation';

/**
 * # Boards: which experiments may be ranked together
 *
 * A board is one task measured one way. Two experiments share a board exactly when they are
 * trained and scored on the same examples, split the same way, under the same metric
 * definitions; only then does "A scored higher than B" say something about A and B rather than
 * about their data. The board of an experiment is a function of its `dataset` options alone:
 *
 *   board = the data set's name + every option that changes the data, the split or the metric,
 *           in canonical form (the schema's defaults filled in, keys sorted),
 *   key   = `<name>-<first 12 hex digits of sha256("tfleet-board/v<BOARD_RULE_VERSION>\n" + canonical JSON)>`.
 *
 * Because defaults are filled in first, `{ name: 'mnist' }` and `{ name: 'mnist', samples: 10000 }`
 * are one board. Because every counted option is hashed, `samples: 200` (a 20-digit test set that
 * can score 1.0) is another.
 *
 * ## Which options count, and why (every option of every data set counts today)
 *
 * - `name`: the task itself.
 * - `samples` (mnist, synthetic-images, cmudict, adding, copy): the examples are drawn (after the
 *   seeded shuffle) before the split, so this changes the test set itself, not only its size.
 * - `testFraction`, `splitSeed`: which examples are held out for the final test score.
 * - `validationFraction`: which examples are left to train on (the test slice comes first, so
 *   the test set stays, but the training set shrinks) and which ones the validation curve (and a
 *   best-validation ranking) is measured on.
 * - synthetic-images `height`, `width`, `channels`, `noise`: a different generated data set;
 *   `classes`: a different problem (chance accuracy is 1/classes).
 * - brown `level` (word vs char language modelling: different targets, different perplexity),
 *   `sequenceLength` (context length and the windows scored), `vocabSize` (which words become
 *   `<unk>`: a different prediction problem), `maxTokens` (caps the training tokens and, in
 *   proportion, the validation and test tokens scored).
 * - cmudict `maxWordLength`: which words are usable, so which words are tested.
 * - adding `sequenceLength`; copy `sequenceLength`, `delay`, `symbols`: the generated task.
 * - spam-assassin `sequenceLength` (each message is truncated to it: what the model may read),
 *   `vocabSize` (the tokenisation of the inputs).
 *
 * ## Excluded options
 *
 * None today: no data set option leaves the data, the split and the metric alone. The
 * classification below is exhaustive on purpose: the unit spec fails when a data set's schema
 * has an option that is in neither list, so a new option cannot join the hash (or escape it)
 * without someone deciding which it is. An option that only changes speed or memory (a loader's
 * cache size, say) belongs in `excluded`, with the reason.
 *
 * ## Outside the data set options
 *
 * - `training.evalSamples` caps the *validation* evaluations only; the final test evaluation
 *   always scores the whole test split, so it does not split final-metric boards. A ranking by
 *   the best validation value compares validation scores measured on up to `evalSamples`
 *   examples; it is not part of the board key.
 * - Model and training options (family, width, learning rate, seed, ranks) are what a board
 *   compares; they never count.
 *
 * Changing this rule (counting or excluding an option, or the key format) must bump
 * `BOARD_RULE_VERSION`, so every key changes and a migration recomputes the stored ones.
 */
export const BOARD_RULE_VERSION = 1;

export interface BoardOptionRule {
  /** Options hashed into the board key (besides `name`). */
  counted: readonly string[];
  /** Options left out of the key, each with the reason it does not change data, split or metric. */
  excluded: Readonly<Record<string, string>>;
}

const SPLIT = ['validationFraction', 'testFraction', 'splitSeed'] as const;

export const BOARD_OPTIONS: Readonly<Record<DatasetName, BoardOptionRule>> = {
  mnist: { counted: ['samples', ...SPLIT], excluded: {} },
  'synthetic-images': { counted: ['height', 'width', 'channels', 'classes', 'samples', 'noise', ...SPLIT], excluded: {} },
  brown: { counted: ['level', 'sequenceLength', 'vocabSize', 'maxTokens', ...SPLIT], excluded: {} },
  cmudict: { counted: ['maxWordLength', 'samples', ...SPLIT], excluded: {} },
  adding: { counted: ['sequenceLength', 'samples', ...SPLIT], excluded: {} },
  copy: { counted: ['sequenceLength', 'delay', 'symbols', 'samples', ...SPLIT], excluded: {} },
  'spam-assassin': { counted: ['sequenceLength', 'vocabSize', ...SPLIT], excluded: {} },
};

/** What a client may send as `dataset`: every defaulted option optional. */
export type DatasetSpecInput = ExperimentSpecInput['dataset'];

/** The canonical options of a board: the name plus the counted options, defaults filled in. */
export type BoardDataset = { name: DatasetName } & Readonly<Record<string, string | number | boolean>>;

export interface Board {
  /** `<dataset name>-<12 hex digits>`, e.g. `mnist-3f2a...`. */
  key: string;
  dataset: BoardDataset;
}

/**
 * The board of a data set spec (as sent, or as stored with defaults filled in).
 * Throws an Error naming the problems when the options are not a valid data set spec.
 */
export function boardOf(dataset: DatasetSpecInput | DatasetSpec): Board {
  const parsed = parseWith(datasetSpecSchema, dataset, 'dataset');
  if (!parsed.ok) throw new Error(`not a valid data set spec: ${formatIssues(parsed.issues)}`);
  const full = parsed.value as Readonly<Record<string, unknown>> & { name: DatasetName };
  const canonical: Record<string, string | number | boolean> = { name: full.name };
  for (const option of BOARD_OPTIONS[full.name].counted) {
    const value = full[option];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`board rule: ${full.name}.${option} is not a scalar option`);
    }
    canonical[option] = value;
  }
  const hash = shortHash(`tfleet-board/v${BOARD_RULE_VERSION}\n${canonicalJson(canonical)}`, 12);
  return { key: `${full.name}-${hash}`, dataset: canonical as BoardDataset };
}

/** The board of a data set's default options: the one a leaderboard shows unless asked for another. */
export function defaultBoardOf(name: DatasetName): Board {
  return boardOf({ name } as DatasetSpecInput);
}

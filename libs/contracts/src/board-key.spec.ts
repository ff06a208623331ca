import { BOARD_OPTIONS, boardOf, defaultBoardOf, type DatasetSpecInput } from './board-key';
import { DATASET_NAMES, type DatasetName, datasetSpecSchema } from './experiment-spec';

/** For every option of every data set: a valid value other than its default. */
const OTHER_VALUES: Readonly<Record<DatasetName, Readonly<Record<string, string | number>>>> = {
  mnist: { samples: 200, validationFraction: 0.2, testFraction: 0.05, splitSeed: 1 },
  'synthetic-images': { height: 32, width: 16, channels: 3, classes: 2, samples: 500, noise: 0.1, validationFraction: 0, testFraction: 0.2, splitSeed: 7 },
  brown: { level: 'char', sequenceLength: 64, vocabSize: 10_000, maxTokens: 100_000, validationFraction: 0.05, testFraction: 0.2, splitSeed: 9 },
  cmudict: { maxWordLength: 8, samples: 1_000, validationFraction: 0.15, testFraction: 0.15, splitSeed: 3 },
  adding: { sequenceLength: 50, samples: 2_000, validationFraction: 0.2, testFraction: 0.3, splitSeed: 11 },
  copy: { sequenceLength: 5, delay: 0, symbols: 4, samples: 500, validationFraction: 0.3, testFraction: 0.25, splitSeed: 13 },
  'spam-assassin': { sequenceLength: 256, vocabSize: 1_000, validationFraction: 0.12, testFraction: 0.12, splitSeed: 17 },
};

const schemaOptions = (name: DatasetName): string[] => {
  const schema = datasetSpecSchema.options.find((option) => option.shape.name.value === name);
  if (!schema) throw new Error(`no schema for ${name}`);
  return Object.keys(schema.shape).filter((key) => key !== 'name');
};

const spec = (name: DatasetName, options: Record<string, unknown> = {}): DatasetSpecInput => ({ name, ...options }) as DatasetSpecInput;

describe('boardOf', () => {
  it('gives the mnist default board a fixed key (changing it needs BOARD_RULE_VERSION and a migration)', () => {
    expect(defaultBoardOf('mnist')).toEqual({
      key: MNIST_DEFAULT_KEY,
      dataset: { name: 'mnist', samples: 10_000, validationFraction: 0.1, testFraction: 0.1, splitSeed: 20261128 },
    });
  });

  it('gives seven data sets seven different default keys, each prefixed with the name', () => {
    const keys = DATASET_NAMES.map((name) => defaultBoardOf(name).key);
    expect(new Set(keys).size).toBe(DATASET_NAMES.length);
    DATASET_NAMES.forEach((name, i) => expect(keys[i]).toMatch(new RegExp(`^${name}-[0-9a-f]{12}$`)));
  });

  it('rejects options that are not a valid data set spec', () => {
    expect(() => boardOf(spec('mnist', { samples: 5 }))).toThrow(/dataset\.samples/);
    expect(() => boardOf(spec('mnist', { colour: 'blue' }))).toThrow(/dataset\.colour/);
    expect(() => boardOf({ name: 'imagenet' } as unknown as DatasetSpecInput)).toThrow(/dataset\.name/);
  });

  describe.each(DATASET_NAMES)('%s', (name) => {
    const rule = BOARD_OPTIONS[name];
    const base = defaultBoardOf(name);

    it('classifies every option of the schema as counted or excluded, and nothing else', () => {
      const classified = [...rule.counted, ...Object.keys(rule.excluded)].sort();
      expect(classified).toEqual(schemaOptions(name).sort());
      expect(new Set(classified).size).toBe(classified.length);
      expect(Object.keys(OTHER_VALUES[name]).sort()).toEqual(classified);
    });

    it('gives one key whether the defaults are omitted or written out, in any key order', () => {
      const explicit = datasetSpecSchema.parse({ name }) as Record<string, unknown>;
      expect(Object.keys(explicit).length).toBeGreaterThan(1);
      expect(boardOf(explicit as DatasetSpecInput)).toEqual(base);
      const reversed = Object.fromEntries(Object.entries(explicit).reverse());
      expect(boardOf(reversed as DatasetSpecInput)).toEqual(base);
      expect(base.dataset).toEqual(explicit);
    });

    it.each(rule.counted.map((option) => [option]))('counts %s: another value, another board', (option) => {
      const other = boardOf(spec(name, { [option]: OTHER_VALUES[name][option] }));
      expect(other.key).not.toBe(base.key);
      expect(other.key.startsWith(`${name}-`)).toBe(true);
      expect(other.dataset[option]).toBe(OTHER_VALUES[name][option]);
      // the same non-default value, written again, is the same board
      expect(boardOf(spec(name, { [option]: OTHER_VALUES[name][option] })).key).toBe(other.key);
    });

    const excluded = Object.keys(rule.excluded);
    if (excluded.length > 0) {
      it.each(excluded.map((option) => [option]))('excludes %s: another value, the same board', (option) => {
        const other = boardOf(spec(name, { [option]: OTHER_VALUES[name][option] }));
        expect(other).toEqual(base);
      });
    }
  });

  it('gives every pair of single-option changes of a data set distinct keys', () => {
    for (const name of DATASET_NAMES) {
      const keys = BOARD_OPTIONS[name].counted.map((option) => boardOf(spec(name, { [option]: OTHER_VALUES[name][option] })).key);
      expect(new Set([...keys, defaultBoardOf(name).key]).size).toBe(keys.length + 1);
    }
  });
});

/** The mnist default board's key under rule v1: sha256 of 'tfleet-board/v1\n{"name":"mnist","samples":10000,"splitSeed":20261128,"testFraction":0.1,"validationFraction":0.1}', checked with sha256sum. */
const MNIST_DEFAULT_KEY = 'mnist-8d6a74975f0a';

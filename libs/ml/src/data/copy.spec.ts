import { copyDatasetSchema } from '@tfleet/contracts';
import { COPY_TOKENS, loadCopy } from './copy';

describe('copy', () => {
  const spec = copyDatasetSchema.parse({ name: 'copy', sequenceLength: 5, delay: 7, symbols: 4, samples: 500 });
  const data = loadCopy(spec);

  it('reads symbols, blanks and the recall marker; decodes the symbols then the end token', () => {
    expect(data.task).toBe('seq2seq');
    expect(data.inputSpecs.map((s) => s.shape)).toEqual([[13], [6]]);
    expect(data.targetSpec.shape).toEqual([6]);
    expect(data.numClasses).toBe(COPY_TOKENS.firstSymbol + 4);
    const [encoder, decoder] = data.train.inputs as Int32Array[];
    for (let i = 0; i < data.train.size; i++) {
      const source = Array.from(encoder!.subarray(i * 13, i * 13 + 13));
      const symbols = source.slice(0, 5);
      expect(symbols.every((s) => s >= COPY_TOKENS.firstSymbol && s < COPY_TOKENS.firstSymbol + 4)).toBe(true);
      expect(source.slice(5, 12)).toEqual(new Array(7).fill(COPY_TOKENS.blank));
      expect(source[12]).toBe(COPY_TOKENS.recall);
      expect(Array.from(decoder!.subarray(i * 6, i * 6 + 6))).toEqual([COPY_TOKENS.start, ...symbols]);
      expect(Array.from(data.train.target.subarray(i * 6, i * 6 + 6))).toEqual([...symbols, COPY_TOKENS.end]);
    }
  });

  it('is deterministic for a spec', () => {
    expect(Array.from(loadCopy(spec).test.inputs[0]!)).toEqual(Array.from(data.test.inputs[0]!));
  });

  it('gives chance-level baselines', () => {
    expect(data.baselines()).toEqual({ baselineSymbolAccuracy: 0.25, baselineTokenAccuracy: (5 * 0.25 + 1) / 6 });
  });
});

import { spamAssassinDatasetSchema } from '@tfleet/contracts';
import { loadSpamAssassin, messageTokens, readSpamAssassin } from './spam-assassin';
import { Vocabulary } from './tokenizer';

describe('spam-assassin', () => {
  const spec = spamAssassinDatasetSchema.parse({ name: 'spam-assassin', sequenceLength: 32, vocabSize: 500 });
  const data = loadSpamAssassin(spec);
  const vocabulary = Vocabulary.fromJSON((data.artifacts['tokenizer'] as { vocabulary: unknown }).vocabulary);

  it('reads all 6,046 messages, 1,896 of them spam', () => {
    const messages = readSpamAssassin();
    expect(messages.length).toBe(6_046);
    expect(messages.filter((m) => m.label === 1).length).toBe(1_896);
  });

  it('tokenizes the subject and body, not the routing headers or markup', () => {
    const raw = 'From x@y.z\nReceived: from relay.example\nSubject: Cheap PILLS!!\n\n<html><b>Buy</b> now&nbsp;-----</html>\n';
    expect(messageTokens(raw)).toEqual(['cheap', 'pills', '!', 'buy', 'now', '-']);
  });

  it('has padded token sequences and 0/1 labels in every split', () => {
    expect(data.task).toBe('sequence-classification');
    expect(data.inputSpecs).toEqual([{ name: 'tokens', shape: [32], dtype: 'int32' }]);
    expect(data.numClasses).toBe(2);
    expect(data.train.size + data.validation.size + data.test.size).toBe(6_046);
    for (const split of [data.train, data.validation, data.test]) {
      expect(new Set(split.target)).toEqual(new Set([0, 1]));
      expect(split.inputs[0]!.every((id) => id >= 0 && id < vocabulary.size)).toBe(true);
    }
  });

  it('builds the vocabulary from the training messages only', () => {
    const seen = new Set(data.train.inputs[0]);
    for (let id = vocabulary.specials; id < vocabulary.size; id++) expect(seen.has(id)).toBe(true);
  });

  it('is deterministic for a spec', () => {
    const again = loadSpamAssassin(spec);
    expect(Array.from(again.test.inputs[0]!)).toEqual(Array.from(data.test.inputs[0]!));
    expect(Array.from(again.test.target)).toEqual(Array.from(data.test.target));
  });

  it('reports a majority (ham) accuracy near the corpus ham share', () => {
    const { majorityAccuracy } = data.baselines();
    expect(majorityAccuracy).toBeGreaterThan(0.62);
    expect(majorityAccuracy).toBeLessThan(0.76);
  });

  it('encodes with a given (pretraining) vocabulary', () => {
    const given = new Vocabulary(['<pad>', '<unk>', '<bos>', '<eos>', '<mask>', 'the', 'free'], 5);
    const reused = loadSpamAssassin(spec, { vocabulary: given.toJSON() });
    expect(reused.inputVocabSize).toBe(7);
    expect(reused.maskId).toBe(4);
    expect(reused.train.inputs[0]!.every((id) => id <= 6)).toBe(true);
    expect(reused.train.inputs[0]!.some((id) => id === 5)).toBe(true);
  });
});

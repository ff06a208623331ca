import { Tokenizer, Vocabulary, charTokens, countTokens, wordTokens, TEXT_SPECIAL_TOKENS } from './tokenizer';

describe('Vocabulary', () => {
  const counts = countTokens([
    ['b', 'a', 'c', 'a'],
    ['c', 'd', 'a'],
  ]);

  it('puts specials first, then tokens by descending count with ties in code-point order', () => {
    const vocab = Vocabulary.build(counts, { maxSize: 8, specials: ['<pad>', '<unk>'] });
    expect(vocab.tokens).toEqual(['<pad>', '<unk>', 'a', 'c', 'b', 'd']);
    expect(vocab.specials).toBe(2);
    expect(vocab.unkId).toBe(1);
  });

  it('keeps only maxSize tokens, counting the specials, and maps the rest to <unk>', () => {
    const vocab = Vocabulary.build(counts, { maxSize: 4, specials: ['<pad>', '<unk>'] });
    expect(vocab.size).toBe(4);
    expect(Array.from(vocab.encode(['a', 'b', 'zzz', 'c']))).toEqual([2, 1, 1, 3]);
  });

  it('does not depend on the order tokens were counted in', () => {
    const reversed = countTokens([['a', 'd', 'c'], ['a', 'c', 'a', 'b']]);
    const options = { maxSize: 10, specials: TEXT_SPECIAL_TOKENS };
    expect(Vocabulary.build(reversed, options).tokens).toEqual(Vocabulary.build(counts, options).tokens);
  });

  it('round-trips through JSON', () => {
    const vocab = Vocabulary.build(counts, { maxSize: 10, specials: TEXT_SPECIAL_TOKENS });
    const copy = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocab.toJSON())));
    expect(copy.tokens).toEqual(vocab.tokens);
    expect(copy.specials).toBe(vocab.specials);
    expect(copy.id('c')).toBe(vocab.id('c'));
  });

  it('rejects malformed JSON and unknown tokens without <unk> with clear errors', () => {
    expect(() => Vocabulary.fromJSON({ tokens: [1, 2], specials: 0 })).toThrow('tokens must be an array of strings');
    expect(() => Vocabulary.fromJSON({ tokens: ['a', 'a'], specials: 0 })).toThrow("token 'a' appears twice");
    expect(() => new Vocabulary(['x', 'y'], 0).id('z')).toThrow("token 'z' is not in the vocabulary");
    expect(() => new Vocabulary(['x'], 0).token(3)).toThrow('token id 3 is outside the vocabulary');
    expect(() => Vocabulary.build(counts, { maxSize: 1, specials: ['<pad>', '<unk>'] })).toThrow('at least 2');
  });
});

describe('Tokenizer', () => {
  it('splits words lower-cased with punctuation as separate tokens', () => {
    expect(wordTokens("Don't stop, e-mail the U.S. office: $5!")).toEqual([
      "don't", 'stop', ',', 'e-mail', 'the', 'u.s', '.', 'office', ':', '$', '5', '!',
    ]);
    expect(charTokens('Ab c')).toEqual(['A', 'b', ' ', 'c']);
  });

  it('round-trips word-level text through encode, decode and JSON', () => {
    const text = 'the cat sat on the mat , the end .';
    const vocab = Vocabulary.build(countTokens([wordTokens(text)]), { maxSize: 50, specials: TEXT_SPECIAL_TOKENS });
    const tokenizer = Tokenizer.fromJSON(JSON.parse(JSON.stringify(new Tokenizer('word', vocab).toJSON())));
    const ids = tokenizer.encode(text);
    expect(ids.length).toBe(10);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(tokenizer.decode([...ids, 0, 0])).toBe(text);
    expect(tokenizer.decode(tokenizer.encode('the dog'))).toBe('the <unk>');
  });

  it('round-trips character-level text', () => {
    const text = 'Hello, world';
    const vocab = Vocabulary.build(countTokens([charTokens(text)]), { maxSize: 50, specials: TEXT_SPECIAL_TOKENS });
    const tokenizer = new Tokenizer('char', vocab);
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('rejects a JSON level it does not know', () => {
    expect(() => Tokenizer.fromJSON({ level: 'byte', vocabulary: { tokens: [], specials: 0 } })).toThrow("level must be 'word' or 'char'");
  });
});

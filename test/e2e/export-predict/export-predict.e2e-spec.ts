import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseExperimentSpec } from '@tfleet/contracts';
import { loadDataset } from '@tfleet/ml';
import { finishedExperiment, startTestStack, type TestStack } from '../../utils/tfleet-stack.util';

interface ExperimentBody {
  id: string;
  status: string;
  metrics: Record<string, number> | null;
  error: string | null;
}

interface StockEvaluation {
  samples: number;
  loss: number;
  accuracy?: number;
  mse?: number;
  predictions: number[];
  registeredBefore: string[];
  layerClasses: string[];
  backend: string;
  tfjsVersion: string;
}

const training = { epochs: 1, batchSize: 32, ranks: 1 };
const SPECS = {
  mnist: { dataset: { name: 'mnist', samples: 1000 }, model: { family: 'cnn', blocks: [{ filters: 4, dropout: 0.25 }], denseUnits: [16] }, training },
  adding: { dataset: { name: 'adding', samples: 300, sequenceLength: 10 }, model: { family: 'gru', units: 8 }, training },
  brown: { dataset: { name: 'brown', maxTokens: 3000, vocabSize: 200, sequenceLength: 8 }, model: { family: 'lstm', units: 16, embeddingDim: 8 }, training },
  cmudict: { dataset: { name: 'cmudict', samples: 300, maxWordLength: 6 }, model: { family: 'gru', units: 16, embeddingDim: 8 }, training },
  spam: { dataset: { name: 'spam-assassin', sequenceLength: 32, vocabSize: 500 }, model: { family: 'cnn', blocks: [{ filters: 4, kernelSize: 3, pool: 'none' }], denseUnits: [8], embeddingDim: 8 }, training: { ...training, maxSteps: 10 } },
} as const;
type Name = keyof typeof SPECS;

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe('export and prediction (real API and worker processes, real Redis and SQLite)', () => {
  let stack: TestStack;
  const ids = {} as Record<Name, string>;
  const done = {} as Record<Name, ExperimentBody>;
  let dataDir: string;

  beforeAll(async () => {
    stack = await startTestStack();
    dataDir = mkdtempSync(join(tmpdir(), 'tfleet-export-'));
    for (const name of Object.keys(SPECS) as Name[]) {
      const response = await stack.request('POST', '/api/experiments', SPECS[name]);
      if (response.status !== 201) throw new Error(`submitting ${name}: ${response.status} ${JSON.stringify(response.body)}`);
      ids[name] = (response.body as { id: string }).id;
    }
    for (const name of Object.keys(SPECS) as Name[]) {
      done[name] = await finishedExperiment<ExperimentBody>(stack, ids[name], 600_000);
      if (done[name].status !== 'completed') throw new Error(`${name} ${done[name].status}: ${done[name].error}\n${stack.output.join('')}`);
    }
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Writes a split's test inputs and targets as float32 files and scores the export in a process with stock tfjs alone. */
  async function evaluateWithStockTfjs(name: 'mnist' | 'adding', task: 'classification' | 'regression'): Promise<StockEvaluation> {
    const parsed = parseExperimentSpec(SPECS[name]);
    if (!parsed.ok) throw new Error('bad spec');
    const data = loadDataset(parsed.value.dataset);
    const dir = mkdtempSync(join(dataDir, `${name}-`));
    writeFileSync(join(dir, 'inputs.f32'), Buffer.from(Float32Array.from(data.test.inputs[0]!).buffer));
    writeFileSync(join(dir, 'targets.f32'), Buffer.from(Float32Array.from(data.test.target).buffer));
    const args = { url: `${stack.baseUrl}/api/experiments/${ids[name]}/model/model.json`, apiKey: stack.apiKey, dir, inputShape: data.inputSpecs[0]!.shape, task };
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, 'stock-tfjs-evaluate.js'), JSON.stringify(args)], { timeout: 60_000 });
    const evaluation = JSON.parse(stdout.trim().split('\n').pop()!) as StockEvaluation;
    expect(evaluation.samples).toBe(data.test.size);
    return evaluation;
  }

  it('a CNN with dropout loads in stock tfjs from model.json over HTTP and reproduces its recorded test metrics', async () => {
    const stock = await evaluateWithStockTfjs('mnist', 'classification');
    const recorded = done.mnist.metrics!;
    process.stdout.write(`${JSON.stringify({ check: 'export-reproduces-test-metric', model: 'cnn/mnist', samples: stock.samples, recorded: { accuracy: recorded['accuracy'], loss: recorded['loss'] }, stockTfjs: { accuracy: stock.accuracy, loss: stock.loss, backend: stock.backend, tfjsVersion: stock.tfjsVersion } })}\n`);
    expect(stock.registeredBefore).toEqual([]);
    expect(stock.layerClasses).toContain('Dropout');
    expect(stock.layerClasses.filter((c) => c.startsWith('Tfleet'))).toEqual([]);
    // The worker scored on wasm (fused kernels, FMA), this process on tfjs' cpu backend: the
    // same weights, so the logits agree to rounding; at most one near-tie may flip.
    expect(Math.abs(stock.accuracy! - recorded['accuracy']!)).toBeLessThanOrEqual(1 / stock.samples + 1e-9);
    expect(stock.loss).toBeCloseTo(recorded['loss']!, 4);
  });

  it('a GRU (fused in training, stock GRU in the export) reproduces its recorded test MSE', async () => {
    const stock = await evaluateWithStockTfjs('adding', 'regression');
    const recorded = done.adding.metrics!;
    process.stdout.write(`${JSON.stringify({ check: 'export-reproduces-test-metric', model: 'gru/adding', samples: stock.samples, recorded: { mse: recorded['mse'] }, stockTfjs: { mse: stock.mse, backend: stock.backend } })}\n`);
    expect(stock.layerClasses).toContain('GRU');
    expect(stock.mse).toBeCloseTo(recorded['mse']!, 5);
  });

  it('model.json names its weights relative to itself; weights.bin holds every weight', async () => {
    const modelJson = (await stack.request('GET', `/api/experiments/${ids.mnist}/model/model.json`)).body as {
      weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[];
      userDefinedMetadata: { tfleet: { loadsInStockTfjs: boolean; customClasses: string[] } };
    };
    expect(modelJson.weightsManifest).toHaveLength(1);
    expect(modelJson.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(modelJson.userDefinedMetadata.tfleet).toMatchObject({ loadsInStockTfjs: true, customClasses: [] });
    const floats = modelJson.weightsManifest[0]!.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
    const weights = await fetch(`${stack.baseUrl}/api/experiments/${ids.mnist}/model/weights.bin`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(weights.status).toBe(200);
    expect(weights.headers.get('content-type')).toBe('application/octet-stream');
    expect((await weights.arrayBuffer()).byteLength).toBe(floats * 4);
    expect((await stack.request('GET', `/api/experiments/${ids.mnist}/model/weights.bin`, undefined, null)).status).toBe(401);
  });

  it("task.json carries the task's vocabulary and labels", async () => {
    const brown = (await stack.request('GET', `/api/experiments/${ids.brown}/model/task.json`)).body as { task: string; predictInput: string; artifacts: { tokenizer: { level: string; vocabulary: { tokens: string[] } } } };
    expect(brown).toMatchObject({ task: 'language-modelling', predictInput: 'prompt' });
    expect(brown.artifacts.tokenizer.level).toBe('word');
    expect(brown.artifacts.tokenizer.vocabulary.tokens.slice(0, 5)).toEqual(['<pad>', '<unk>', '<bos>', '<eos>', '<mask>']);
    expect(brown.artifacts.tokenizer.vocabulary.tokens).toHaveLength(200);
    const spam = (await stack.request('GET', `/api/experiments/${ids.spam}/model/task.json`)).body as { artifacts: { labels: string[] } };
    expect(spam.artifacts.labels).toEqual(['ham', 'spam']);
    const cmudict = (await stack.request('GET', `/api/experiments/${ids.cmudict}/model/task.json`)).body as { artifacts: { inputVocabulary: { tokens: string[] }; outputVocabulary: { tokens: string[] } } };
    expect(cmudict.artifacts.inputVocabulary.tokens).toContain('a');
    expect(cmudict.artifacts.outputVocabulary.tokens).toContain('<eos>');
  });

  it('an encoder-decoder GRU has no faithful model.json: 409 saying why, and prediction still serves it', async () => {
    const response = await stack.request('GET', `/api/experiments/${ids.cmudict}/model/model.json`);
    expect(response.status).toBe(409);
    expect((response.body as { message: string }).message).toContain('encoder state reaches the decoder through call arguments');
    expect((await stack.request('GET', `/api/experiments/${ids.cmudict}/model/task.json`)).status).toBe(200);
    expect((await stack.request('POST', `/api/experiments/${ids.cmudict}/predict`, { word: 'dog' })).status).toBe(200);
  });

  it('predicts a digit from a 28x28 image, agreeing with the exported model', async () => {
    const parsed = parseExperimentSpec(SPECS.mnist);
    if (!parsed.ok) throw new Error('bad spec');
    const data = loadDataset(parsed.value.dataset);
    const stock = await evaluateWithStockTfjs('mnist', 'classification');
    const pixels = data.test.inputs[0]!;
    const timings: { ms: number; modelLoadMs: number | null }[] = [];
    for (let i = 0; i < 5; i++) {
      const image = Array.from({ length: 28 }, (_, y) => Array.from(pixels.subarray(i * 784 + y * 28, i * 784 + y * 28 + 28)));
      const response = await stack.request('POST', `/api/experiments/${ids.mnist}/predict`, { image });
      expect(response.status).toBe(200);
      const { prediction, modelLoadMs } = response.body as { prediction: { kind: string; label: string; probabilities: { label: string; probability: number }[] }; modelLoadMs: number | null };
      // The first call may load the model into the prediction thread; later ones find it there.
      if (i > 0) expect(modelLoadMs).toBeNull();
      timings.push({ ms: response.ms, modelLoadMs });
      expect(prediction.kind).toBe('classes');
      expect(prediction.probabilities).toHaveLength(10);
      expect(prediction.probabilities.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 5);
      expect(prediction.label).toBe(String(stock.predictions[i]));
    }
    process.stdout.write(`${JSON.stringify({ check: 'predict-timings', model: 'cnn/mnist', requests: timings })}\n`);
  });

  it('predicts the next words of a prompt', async () => {
    const vocabulary = ((await stack.request('GET', `/api/experiments/${ids.brown}/model/task.json`)).body as { artifacts: { tokenizer: { vocabulary: { tokens: string[] } } } }).artifacts.tokenizer.vocabulary.tokens;
    const response = await stack.request('POST', `/api/experiments/${ids.brown}/predict`, { prompt: 'The jury said that', count: 4 });
    expect(response.status).toBe(200);
    const prediction = (response.body as { prediction: { kind: string; next: string[]; text: string } }).prediction;
    expect(prediction.kind).toBe('continuation');
    expect(prediction.next).toHaveLength(4);
    for (const word of prediction.next) expect(vocabulary.indexOf(word) === 3 || vocabulary.indexOf(word) >= 5).toBe(true);
    expect(prediction.text).toBe(`The jury said that ${prediction.next.join(' ')}`);
  });

  it('predicts the phonemes of a word', async () => {
    const phonemes = ((await stack.request('GET', `/api/experiments/${ids.cmudict}/model/task.json`)).body as { artifacts: { outputVocabulary: { tokens: string[] } } }).artifacts.outputVocabulary.tokens;
    const response = await stack.request('POST', `/api/experiments/${ids.cmudict}/predict`, { word: 'cat' });
    expect(response.status).toBe(200);
    const output = (response.body as { prediction: { kind: string; output: string[] } }).prediction.output;
    expect(output.length).toBeLessThanOrEqual(7);
    for (const phoneme of output) expect(phonemes).toContain(phoneme);
  });

  it('labels a text ham or spam; the API answers other requests while the model loads', async () => {
    // The first prediction of this model reads the corpus and builds the model in the
    // prediction thread; meanwhile the API's event loop is free to answer.
    let predicted = false;
    const pending = stack.request('POST', `/api/experiments/${ids.spam}/predict`, { subject: 'Cheap meds', text: 'Click here to buy now, limited offer, free money!' }).then((r) => {
      predicted = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const health = await stack.request('GET', '/api/health', undefined, null);
    expect(health.status).toBe(200);
    expect(predicted).toBe(false);
    const response = await pending;
    expect(response.status).toBe(200);
    expect((response.body as { modelLoadMs: number | null }).modelLoadMs).toBeGreaterThan(0);
    const prediction = (response.body as { prediction: { kind: string; label: string; probabilities: { label: string; probability: number }[] } }).prediction;
    expect(prediction.kind).toBe('classes');
    expect(prediction.probabilities.map((p) => p.label).sort()).toEqual(['ham', 'spam']);
    expect(prediction.label).toBe(prediction.probabilities[0]!.label);
  });

  it('predicts a value from a sequence, as the exported model does', async () => {
    const parsed = parseExperimentSpec(SPECS.adding);
    if (!parsed.ok) throw new Error('bad spec');
    const data = loadDataset(parsed.value.dataset);
    const stock = await evaluateWithStockTfjs('adding', 'regression');
    const values = data.test.inputs[0]!;
    const sequence = Array.from({ length: 10 }, (_, t) => [values[t * 2]!, values[t * 2 + 1]!]);
    const response = await stack.request('POST', `/api/experiments/${ids.adding}/predict`, { sequence });
    expect(response.status).toBe(200);
    const prediction = (response.body as { prediction: { kind: string; value: number } }).prediction;
    expect(prediction.kind).toBe('value');
    expect(prediction.value).toBeCloseTo(stock.predictions[0]!, 5);
  });

  it.each([
    ['mnist', '27 rows', 'image', { image: Array.from({ length: 27 }, () => new Array<number>(28).fill(0)) }, '28 rows of 28'],
    ['mnist', 'a string pixel', 'image.0.0', { image: [['x']] }, ''],
    ['mnist', 'a text instead of an image', 'image', { text: 'hello' }, ''],
    ['brown', 'an empty prompt', 'prompt', { prompt: '' }, ''],
    ['brown', 'a prompt of no words', 'prompt', { prompt: '   ' }, 'at least one word'],
    ['brown', 'a count of 0', 'count', { prompt: 'the', count: 0 }, ''],
    ['cmudict', 'a long word', 'word', { word: 'abcdefghij' }, 'at most 6 letters'],
    ['spam', 'no text', 'text', { subject: 'hi' }, ''],
    ['adding', '9 steps', 'sequence', { sequence: Array.from({ length: 9 }, () => [0.5, 0]) }, '10 steps of 2 numbers'],
    ['adding', 'a null value', 'sequence.0.0', { sequence: [[null, 0]] }, ''],
  ] as const)('%s given %s: 400 naming %s', async (name, _what, field, body, message) => {
    const response = await stack.request('POST', `/api/experiments/${ids[name]}/predict`, body);
    expect(response.status).toBe(400);
    const issues = (response.body as { issues: { field: string; message: string }[] }).issues;
    expect(issues.map((i) => i.field)).toContain(field);
    if (message !== '') expect(JSON.stringify(response.body)).toContain(message);
    expect(JSON.stringify(response.body)).not.toMatch(/\s+at\s+\S+\s\(/);
  });

  it('answers 404 for unknown experiments and 409 for one without a final model', async () => {
    for (const path of ['model/model.json', 'model/weights.bin', 'model/task.json']) {
      expect((await stack.request('GET', `/api/experiments/${UNKNOWN}/${path}`)).status).toBe(404);
    }
    expect((await stack.request('POST', `/api/experiments/${UNKNOWN}/predict`, { image: [[0]] })).status).toBe(404);
    const submitted = await stack.request('POST', '/api/experiments', SPECS.mnist);
    const id = (submitted.body as { id: string }).id;
    expect((await stack.request('POST', `/api/experiments/${id}/cancel`)).status).toBe(200);
    for (const path of ['model/model.json', 'model/weights.bin', 'model/task.json']) {
      const response = await stack.request('GET', `/api/experiments/${id}/${path}`);
      expect(response.status).toBe(409);
      expect((response.body as { message: string }).message).toBe(`experiment ${id} is cancelled: only a completed experiment has a final model`);
    }
    const image = Array.from({ length: 28 }, () => new Array<number>(28).fill(0));
    const predicted = await stack.request('POST', `/api/experiments/${id}/predict`, { image });
    expect(predicted.status).toBe(409);
  });
});

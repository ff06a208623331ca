import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { crossFieldIssues, DATASET_NAMES, DATASET_TASKS, FAMILIES_BY_TASK, MODEL_FAMILIES } from '@tfleet/contracts';
import { initBackend } from '@tfleet/ml';
import { parseArgs, runEngine } from './main';
import { manifestEntry, selectZooEntries, type ZooManifestEntry, zooEntries, zooTaskInfo, zooWorkload } from './zoo';
import { median, parseZooLines, summarize } from './zoo-compare';

const REPO = path.join(__dirname, '..', '..', '..');
const MANIFEST = path.join(REPO, 'bench', 'peers', 'zoo-manifest.json');
const PEER = path.join(REPO, 'bench', 'peers', 'pytorch_bench.py');
const PYTHON = '/usr/bin/python3';

function readManifest(): ZooManifestEntry[] {
  return JSON.parse(readFileSync(MANIFEST, 'utf8')) as ZooManifestEntry[];
}

describe('the zoo suite listing', () => {
  it('has one entry per family x data set whose task the family fits, and nothing else', () => {
    const names = zooEntries().map((e) => e.name);
    // Written out, so a family or data set added to the contracts fails here until the suite,
    // its manifest and the PyTorch peer know it (regenerate with `node dist/bench/src/zoo.js --manifest`).
    expect(names).toEqual([
      'cnn/mnist',
      'cnn/synthetic-images',
      'cnn/adding',
      'cnn/spam-assassin',
      'simple-rnn/brown',
      'simple-rnn/cmudict',
      'simple-rnn/adding',
      'simple-rnn/copy',
      'simple-rnn/spam-assassin',
      'lstm/brown',
      'lstm/cmudict',
      'lstm/adding',
      'lstm/copy',
      'lstm/spam-assassin',
      'gru/brown',
      'gru/cmudict',
      'gru/adding',
      'gru/copy',
      'gru/spam-assassin',
      'transformer/brown',
      'transformer/cmudict',
      'transformer/adding',
      'transformer/copy',
      'transformer/spam-assassin',
      'bert/brown',
      'bert/spam-assassin',
    ]);
    let pairs = 0;
    for (const family of MODEL_FAMILIES) {
      for (const dataset of DATASET_NAMES) {
        if (FAMILIES_BY_TASK[DATASET_TASKS[dataset]].includes(family)) {
          pairs++;
          expect(names).toContain(`${family}/${dataset}`);
        }
      }
      expect(names.some((n) => n.startsWith(`${family}/`))).toBe(true);
    }
    expect(names).toHaveLength(pairs);
    expect(new Set(names).size).toBe(names.length);
  });

  it('measures default specs the API accepts', () => {
    for (const entry of zooEntries()) {
      expect(crossFieldIssues(entry.spec)).toEqual([]);
      expect(entry.spec.model.family).toBe(entry.family);
      expect(entry.spec.dataset.name).toBe(entry.dataset);
      expect(entry.spec.training.batchSize).toBe(64);
    }
  });

  it('selects entries by name and pattern, and refuses a pattern that matches nothing', () => {
    expect(selectZooEntries(['lstm/*']).map((e) => e.name)).toEqual(['lstm/brown', 'lstm/cmudict', 'lstm/adding', 'lstm/copy', 'lstm/spam-assassin']);
    expect(selectZooEntries(['*/copy', 'cnn/mnist']).map((e) => e.name)).toEqual(['cnn/mnist', 'simple-rnn/copy', 'lstm/copy', 'gru/copy', 'transformer/copy']);
    expect(selectZooEntries(null)).toHaveLength(26);
    expect(() => selectZooEntries(['lstm/mnist'])).toThrow(/matches no zoo entry/);
  });

  it('parses --suite zoo and rejects what it cannot run', () => {
    const args = parseArgs(['--suite', 'zoo', '--entries', 'gru/*', '--seconds', '1', '--warmup', '2']);
    expect(args).toMatchObject({ suite: 'zoo', entries: ['gru/*'], seconds: 1, warmupSeconds: 2 });
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => parseArgs(['--suite', 'zoo', '--ranks', '2'])).toThrow('exit 2');
      expect(() => parseArgs(['--suite', 'zoo', '--entries', 'mlp/*'])).toThrow('exit 2');
      expect(() => parseArgs(['--suite', 'mlperf'])).toThrow('exit 2');
      expect(() => parseArgs(['--workload', 'cnn-mnist', '--entries', 'cnn/*'])).toThrow('exit 2');
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });
});

describe('the zoo manifest the PyTorch peer builds from', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('is current: same entries, shapes, default specs and tfjs parameter counts as the zoo builds now', () => {
    const before = tf.memory().numTensors;
    const manifest = readManifest();
    expect(manifest.map((m) => m.name)).toEqual(zooEntries().map((e) => e.name));
    for (const entry of zooEntries()) {
      const workload = zooWorkload(entry);
      try {
        const live = manifestEntry(entry, zooTaskInfo(entry), workload.model.countParams());
        expect(manifest.find((m) => m.name === entry.name)).toEqual(JSON.parse(JSON.stringify(live)));
      } finally {
        workload.model.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  const torch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  (torch ? it : it.skip)('is built by the peer for every entry, with the same parameter count but for the recurrent b_hh', () => {
    const out = execFileSync(PYTHON, [PEER, '--suite', 'zoo', '--params'], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { entry: string; params: number; params_tfjs: number });
    const manifest = readManifest();
    expect(rows.map((r) => r.entry)).toEqual(manifest.map((m) => m.name));
    for (const m of manifest) {
      const row = rows.find((r) => r.entry === m.name)!;
      const gates = { 'simple-rnn': 1, lstm: 4, gru: 3 }[m.family as string] ?? 0;
      const recurrentLayers = m.model.family === 'simple-rnn' || m.model.family === 'lstm' || m.model.family === 'gru' ? m.model.layers * (m.task === 'seq2seq' ? 2 : 1) : 0;
      const units = 'units' in m.model ? m.model.units : 0;
      // PyTorch's recurrent layers have a second bias (b_hh) per gate; nothing else differs.
      expect(row.params - row.params_tfjs).toBe(gates * units * recurrentLayers);
    }
  });
});

describe('a zoo entry on the bench', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(['gru/adding', 'transformer/copy'])('%s trains a few steps and reports a zoo line without leaking', async (name) => {
    const entry = selectZooEntries([name])[0]!;
    const before = tf.memory().numTensors;
    const args = parseArgs(['--suite', 'zoo', '--entries', name, '--warmup', '0', '--seconds', '0.01', '--leak-check', '2']);
    const line = await runEngine(entry, { request: 'wasm', kernels: 'tfleet' }, args);
    expect(line.error).toBeUndefined();
    expect(line).toMatchObject({ suite: 'zoo', entry: name, workload: name, ranks: 1, global_batch: 64, backend: 'wasm', kernels: 'tfleet' });
    expect(line.params).toBe(readManifest().find((m) => m.name === name)!.params_tfjs);
    expect(line.steps).toBeGreaterThanOrEqual(1);
    expect(line.samples_per_s).toBeGreaterThan(0);
    expect(line.leak_check).toMatchObject({ steps: 2, flat: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('zoo-compare', () => {
  const line = (entry: string, sps: number, extra: Record<string, unknown> = {}) => JSON.stringify({ suite: 'zoo', entry, samples_per_s: sps, ...extra });

  it('reads zoo lines only, and validates them', () => {
    const lines = parseZooLines(`note\n${line('a/b', 10, { params: 5 })}\n{"workload":"cnn-mnist"}\n\n${line('c/d', 2)}\n`);
    expect(lines.map((l) => [l.entry, l.samples_per_s, l.params])).toEqual([
      ['a/b', 10, 5],
      ['c/d', 2, undefined],
    ]);
    expect(() => parseZooLines(JSON.stringify({ suite: 'zoo', samples_per_s: 1 }))).toThrow();
  });

  it('takes per entry the median of the per-round ratios, skipping failed sides', () => {
    const round = (a: number, b: number) => ({ tfleet: parseZooLines(line('x/y', a, { params: 7 })), pytorch: parseZooLines(line('x/y', b, { params: 9 })) });
    const failed = { tfleet: parseZooLines(line('x/y', 0, { error: 'boom' })), pytorch: parseZooLines(line('x/y', 10)) };
    const [s] = summarize(['x/y'], [round(10, 20), round(30, 10), round(8, 10), failed]);
    expect(s!.ratios).toEqual([0.5, 3, 0.8]);
    expect(s!.ratio).toBe(0.8);
    expect(s!.paramsTfjs).toBe(7);
    expect(s!.paramsTorch).toBe(9);
    expect(s!.errors).toEqual(['tfleet: boom']);
    expect(summarize(['z/w'], [round(1, 1)])[0]!.ratio).toBeNull();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

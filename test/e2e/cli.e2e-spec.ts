import * as tf from '@tensorflow/tfjs';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/launcher/src/redis-server';
import { eventually, finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

/** The built command, as `npm`'s bin runs it (package.json "bin": dist/apps/cli/src/tfleet.js). */
const TFLEET = join(__dirname, '..', '..', 'apps', 'cli', 'src', 'tfleet.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface ExperimentBody {
  id: string;
  status: string;
  boardKey: string;
  metrics: Record<string, number> | null;
}

/** Runs `tfleet` as a child process with only the environment given (plus PATH), never the test's TFLEET_* variables. */
function tfleet(args: string[], env: Record<string, string> = {}, cwd = tmpdir()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TFLEET, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, cwd, timeout: 240_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |Error: /);

/** 300 digits, one small conv block, 2 epochs: seconds on one rank. */
const TINY_YAML = `name: cli-tiny
dataset: { name: mnist, samples: 300 }
model: { family: cnn, blocks: [{ filters: 4 }], denseUnits: [16], dropout: 0 }
training: { epochs: 2, batchSize: 32, ranks: 1, seed: 7 }
`;

describe('tfleet CLI (the built command against a running API, worker, Redis and SQLite)', () => {
  let stack: TestStack;
  let dir: string;
  let env: Record<string, string>;
  let tinyId = '';
  let tinyBoard = '';

  beforeAll(async () => {
    stack = await startTestStack();
    dir = mkdtempSync(join(tmpdir(), 'tfleet-cli-'));
    env = { TFLEET_URL: stack.baseUrl, TFLEET_API_KEY: stack.apiKey };
    writeFileSync(join(dir, 'tiny.yaml'), TINY_YAML);
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('submit --watch follows a run to completion, prints progress and its test metrics, and exits 0', async () => {
    const run = await tfleet(['submit', join(dir, 'tiny.yaml'), '--watch'], env);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const submitted = /^submitted ([0-9a-f-]{36}) \(cli-tiny, board (\S+)\)$/m.exec(run.stdout);
    expect(submitted).not.toBeNull();
    tinyId = submitted![1]!;
    tinyBoard = submitted![2]!;
    const view = (await stack.request('GET', `/api/experiments/${tinyId}`)).body as ExperimentBody;
    expect(view.status).toBe('completed');
    expect(view.boardKey).toBe(tinyBoard);
    // Not a terminal: one progress line per change on stderr, ending with the outcome.
    expect(lines(run.stderr).at(-1)).toBe(`${tinyId.slice(0, 8)} cli-tiny: completed`);
    const summary = lines(run.stdout).at(-1)!;
    expect(summary.startsWith(`${tinyId} completed, test `)).toBe(true);
    expect(summary).toContain(`accuracy=${Number(view.metrics!['accuracy']!.toPrecision(4))}`);
  });

  it('ls, get and leaderboard --json print what the API holds', async () => {
    const ls = await tfleet(['ls', '--json'], env);
    expect(ls.code).toBe(0);
    const page = JSON.parse(ls.stdout) as { items: ExperimentBody[]; total: number };
    const api = (await stack.request('GET', '/api/experiments')).body as { items: ExperimentBody[]; total: number };
    expect(page.total).toBe(api.total);
    expect(page.items.map((e) => e.id)).toEqual(api.items.map((e) => e.id));
    expect(page.items.map((e) => e.id)).toContain(tinyId);

    const filtered = await tfleet(['ls', '--json', '--filter', `status = 'failed'`], env);
    expect((JSON.parse(filtered.stdout) as { items: ExperimentBody[] }).items.map((e) => e.id)).not.toContain(tinyId);

    const get = await tfleet(['get', tinyId, '--json'], env);
    expect(get.code).toBe(0);
    const got = JSON.parse(get.stdout) as ExperimentBody;
    expect(got).toMatchObject({ id: tinyId, status: 'completed', boardKey: tinyBoard });
    expect(got.metrics).toEqual(((await stack.request('GET', `/api/experiments/${tinyId}`)).body as ExperimentBody).metrics);

    const board = await tfleet(['leaderboard', '--dataset', 'mnist', '--board', tinyBoard, '--metric', 'accuracy', '--json'], env);
    expect(board.code).toBe(0);
    const ranking = JSON.parse(board.stdout) as { boardKey: string; entries: { rank: number; id: string; value: number }[] };
    expect(ranking.boardKey).toBe(tinyBoard);
    expect(ranking.entries).toEqual([expect.objectContaining({ rank: 1, id: tinyId, value: got.metrics!['accuracy'] })]);

    const table = await tfleet(['leaderboard', '-d', 'mnist', '-b', tinyBoard], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(tinyId);
    expect(table.stdout).toContain(`board ${tinyBoard}, by test accuracy (higher is better)`);

    const grouped = await tfleet(['leaderboard', '-d', 'mnist', '-b', tinyBoard, '--group-by', 'model.family', '--json'], env);
    expect(grouped.code).toBe(0);
    expect((JSON.parse(grouped.stdout) as { groups: { group: Record<string, unknown>; n: number; ids: string[] }[] }).groups).toEqual([
      expect.objectContaining({ group: { 'model.family': 'cnn' }, n: 1, ids: [tinyId] }),
    ]);
  });

  it('Ctrl-C stops watching, not the run; cancel stops it, and watch then exits non-zero with its outcome', async () => {
    const long = { name: 'cli-long', dataset: { name: 'mnist', samples: 4000 }, model: { family: 'cnn' }, training: { epochs: 30, ranks: 1 } };
    writeFileSync(join(dir, 'long.json'), JSON.stringify(long));
    const submit = await tfleet(['submit', join(dir, 'long.json'), '--json'], env);
    expect(submit.code).toBe(0);
    const [created] = JSON.parse(submit.stdout) as ExperimentBody[];

    const watching = spawn(process.execPath, [TFLEET, 'watch', created!.id], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stderr = '';
    watching.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => watching.once('exit', (code) => resolve(code)));
    await eventually(async () => (stderr.includes(': running') ? true : undefined), 120_000, 'the watch to show the run running');
    watching.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('tfleet: stopped watching; the experiment(s) go on');
    expect(((await stack.request('GET', `/api/experiments/${created!.id}`)).body as ExperimentBody).status).toBe('running');

    const cancel = await tfleet(['cancel', created!.id], env);
    expect(cancel).toMatchObject({ code: 0, stdout: `${created!.id} cancelled\n` });
    const watch = await tfleet(['watch', created!.id], env);
    expect(watch.code).toBe(1);
    expect(lines(watch.stdout)).toEqual([`${created!.id} cancelled`]);
    expect((await finishedExperiment<ExperimentBody>(stack, created!.id, 60_000)).status).toBe('cancelled');

    const compare = await tfleet(['compare', tinyId, created!.id, '--json'], env);
    expect(compare.code).toBe(0);
    const body = JSON.parse(compare.stdout) as { differences: string[]; sameBoard: boolean };
    expect(body.differences).toEqual(expect.arrayContaining(['dataset.samples', 'training.epochs']));
    expect(body.sameBoard).toBe(false);
  });

  it('sweep submit --watch runs a 2-trial sweep from a file to its end; sweep get, ls, rerun-failed and cancel read and act on it', async () => {
    const sweepFile = {
      name: 'cli-sweep',
      base: { dataset: { name: 'mnist', samples: 300 }, model: { family: 'cnn', blocks: [{ filters: 4 }], denseUnits: [16], dropout: 0 }, training: { epochs: 2, batchSize: 32, ranks: 1 } },
      method: 'grid',
      space: { 'training.learningRate': { values: [0.01, 0.002] } },
      seeds: [3],
      objective: { metric: 'accuracy', mode: 'max' },
    };
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(sweepFile));
    const run = await tfleet(['sweep', 'submit', join(dir, 'sweep.json'), '--watch'], env);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const submitted = /^submitted sweep ([0-9a-f-]{36}) \(cli-sweep\): 2 trial\(s\)$/m.exec(run.stdout);
    expect(submitted).not.toBeNull();
    const sweepId = submitted![1]!;
    // Piped: one line per change of the counts, the last one the end.
    expect(lines(run.stderr).at(-1)).toBe(`sweep ${sweepId.slice(0, 8)}: completed, 2 completed, 4 epoch(s) spent`);

    const get = await tfleet(['sweep', 'get', sweepId, '--json'], env);
    expect(get.code).toBe(0);
    interface SweepJson {
      id: string;
      status: string;
      trials: { id: string; status: string; epochs: number; assignment: Record<string, unknown>; test: number | null }[];
      counts: Record<string, number>;
      epochsSpent: number;
      best: { id: string; test: number } | null;
    }
    const body = JSON.parse(get.stdout) as SweepJson;
    expect(body).toEqual((await stack.request('GET', `/api/sweeps/${sweepId}`)).body);
    expect(body).toMatchObject({ id: sweepId, status: 'completed', counts: { completed: 2 }, epochsSpent: 4 });
    expect(body.trials.map((t) => [t.assignment['training.learningRate'], t.status, t.epochs])).toEqual([
      [0.01, 'completed', 2],
      [0.002, 'completed', 2],
    ]);
    // Each trial's test value is its experiment's recorded test accuracy; the best is the higher one.
    for (const trial of body.trials) expect(trial.test).toBe(((await stack.request('GET', `/api/experiments/${trial.id}`)).body as ExperimentBody).metrics!['accuracy']);
    const best = [...body.trials].sort((a, b) => b.test! - a.test!)[0]!;
    expect(body.best).toMatchObject({ id: best.id, test: best.test });

    // The table printed after the watch: both trials, the best and the epochs spent.
    for (const trial of body.trials) expect(run.stdout).toContain(trial.id.slice(0, 8));
    expect(run.stdout).toContain(`best so far by test accuracy (higher is better): ${best.id.slice(0, 8)}`);
    expect(run.stdout).toContain('epochs spent: 4');

    const ls = JSON.parse((await tfleet(['sweep', 'ls', '--json'], env)).stdout) as { items: { id: string; status: string }[] };
    expect(ls.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: sweepId, status: 'completed' })]));
    const rerun = await tfleet(['sweep', 'rerun-failed', sweepId, '--json'], env);
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as { requeued: string[] }).requeued).toEqual([]);
    // A sweep that has ended cannot be cancelled: the API's 409, exit 6.
    const cancel = await tfleet(['sweep', 'cancel', sweepId], env);
    expect(cancel.code).toBe(6);
    expect(lines(cancel.stderr)).toHaveLength(1);
  });

  it('shootout runs a suite on the fleet; shootout get prints its claims as the API reports them', async () => {
    const created = await tfleet(['shootout', 'sequence-speed', '--seeds', '1', '--only', 'gru', '--json'], env);
    expect(created.code).toBe(0);
    const { id, trials } = JSON.parse(created.stdout) as { id: string; trials: { label: string; seed: number }[] };
    expect(trials.map((t) => [t.label, t.seed])).toEqual([['gru', 1]]);
    await eventually(async () => (((await stack.request('GET', `/api/sweeps/${id}`)).body as { status: string }).status === 'running' ? undefined : true), 240_000, 'the shootout to end');
    const json = await tfleet(['shootout', 'get', id, '--json'], env);
    const report = JSON.parse(json.stdout) as { trials: { status: string }[]; claims: { statement: string; verdict: string }[] };
    expect(report).toEqual((await stack.request('GET', `/api/shootouts/${id}`)).body);
    expect(report.trials.map((t) => t.status)).toEqual(['completed']);
    const printed = await tfleet(['shootout', 'get', id], env);
    expect(printed.code).toBe(0);
    // Only the GRU ran, so the claim comparing it with the other models is not measured.
    expect(report.claims).toEqual([expect.objectContaining({ verdict: 'not measured' })]);
    expect(printed.stdout).toContain(report.claims[0]!.statement.slice(0, 40));
    expect(printed.stdout).toContain('not measured');
    const bad = await tfleet(['shootout', 'no-such-suite'], env);
    expect(bad.code).toBe(2);
  });

  it('export writes what the API serves, and stock tfjs loads it from disk and predicts what the API predicts', async () => {
    const target = join(dir, 'exported');
    const run = await tfleet(['export', tinyId, target], env);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(readdirSync(target).sort()).toEqual(['model.json', 'task.json', 'weights.bin']);
    const served = async (name: string) => Buffer.from(await (await fetch(`${stack.baseUrl}/api/experiments/${tinyId}/model/${name}`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).arrayBuffer());
    for (const name of ['model.json', 'weights.bin', 'task.json']) {
      const bytes = readFileSync(join(target, name));
      expect(run.stdout).toContain(`${join(target, name)} (${bytes.length.toLocaleString('en-US')} bytes)`);
      if (name === 'model.json') expect(JSON.parse(bytes.toString())).toEqual(JSON.parse((await served(name)).toString()));
      else expect(bytes.equals(await served(name))).toBe(true);
    }

    // The exported files, read from disk into stock tfjs (cpu backend, no project class registered).
    const modelJson = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
    const weights = readFileSync(join(target, modelJson.weightsManifest[0]!.paths[0]!));
    await tf.setBackend('cpu');
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }),
    );
    const image = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => ((r * 28 + c) % 7) / 7));
    const logits = model.predict(tf.tensor4d(image.flat(), [1, 28, 28, 1])) as tf.Tensor;
    const local = Array.from(await tf.softmax(logits).data());

    const predicted = await tfleet(['predict', tinyId, '--json', JSON.stringify({ image }), '--raw'], env);
    expect({ code: predicted.code, stderr: predicted.stderr }).toMatchObject({ code: 0 });
    const answer = JSON.parse(predicted.stdout) as { prediction: { kind: string; label: string; probabilities: { label: string; probability: number }[] } };
    expect(answer.prediction.kind).toBe('classes');
    expect(answer.prediction.probabilities).toHaveLength(10);
    for (const { label, probability } of answer.prediction.probabilities) expect(Math.abs(probability - local[Number(label)]!)).toBeLessThan(1e-4);
    expect(answer.prediction.label).toBe(String(local.indexOf(Math.max(...local))));
    const line = await tfleet(['predict', tinyId, '--json', JSON.stringify({ image })], env);
    expect(line.stdout).toMatch(new RegExp(`^${answer.prediction.label} \\(top: ${answer.prediction.label} [0-9.e-]+, `));
  });

  it('workers and queue --json read the fleet; queue pause and resume change it', async () => {
    const workers = JSON.parse((await tfleet(['workers', '--json'], env)).stdout) as { workers: { id: string; state: string }[] };
    expect(workers.workers).toEqual([expect.objectContaining({ id: 'worker-1', state: 'live' })]);
    const paused = await tfleet(['queue', 'pause', '--json'], env);
    expect((JSON.parse(paused.stdout) as { paused: boolean }).paused).toBe(true);
    expect(((await stack.request('GET', '/api/queue')).body as { paused: boolean }).paused).toBe(true);
    const resumed = await tfleet(['queue', 'resume'], env);
    expect(resumed.stdout).toContain('the queue is running');
    const status = JSON.parse((await tfleet(['queue', '--json'], env)).stdout) as { paused: boolean; counts: Record<string, number> };
    expect(status).toEqual((await stack.request('GET', '/api/queue')).body);
  });

  it('reads a local API key from the data directory when no key is given', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tfleet-cli-data-'));
    try {
      writeFileSync(join(dataDir, 'api-key'), `${stack.apiKey}\n`);
      const run = await tfleet(['get', tinyId, '--json', '--data-dir', dataDir], { TFLEET_URL: stack.baseUrl });
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as ExperimentBody).id).toBe(tinyId);
      const viaEnv = await tfleet(['get', tinyId, '--json'], { TFLEET_URL: stack.baseUrl, TFLEET_DATA_DIR: dataDir });
      expect(viaEnv.code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('errors: one line that says what to do, a non-zero exit status, no stack trace', () => {
    const oneLine = (run: Run) => {
      expect(run.stdout).toBe('');
      expect(lines(run.stderr)).toHaveLength(1);
      noStack(run.stderr);
      return run.stderr.trim();
    };

    it('a spec the schema refuses: exit 2 naming the field, and nothing is submitted', async () => {
      const before = ((await stack.request('GET', '/api/experiments')).body as { total: number }).total;
      writeFileSync(join(dir, 'unfit.json'), JSON.stringify({ dataset: { name: 'mnist' }, model: { family: 'lstm' } }));
      const unfit = await tfleet(['submit', join(dir, 'unfit.json'), '--watch'], env);
      expect(unfit.code).toBe(2);
      expect(oneLine(unfit)).toMatch(/^tfleet: invalid experiment spec in .*unfit\.json: model\.family: family 'lstm' does not fit/);

      writeFileSync(join(dir, 'list.yaml'), `- ${JSON.stringify({ dataset: { name: 'mnist', samples: 300 }, model: { family: 'cnn' } })}\n- { dataset: { name: mnist }, model: { family: cnn }, training: { batchSize: -1 } }\n`);
      const list = await tfleet(['submit', join(dir, 'list.yaml')], env);
      expect(list.code).toBe(2);
      expect(oneLine(list)).toMatch(/list\.yaml, spec 2 of 2: training\.batchSize: /);
      expect(((await stack.request('GET', '/api/experiments')).body as { total: number }).total).toBe(before);
    });

    it('a file that does not parse or is missing: exit 2', async () => {
      writeFileSync(join(dir, 'broken.json'), '{"dataset": ');
      expect(oneLine(await tfleet(['submit', join(dir, 'broken.json')], env))).toMatch(/^tfleet: spec file .*broken\.json is not valid JSON: /);
      writeFileSync(join(dir, 'broken.yaml'), 'dataset: [mnist\n');
      expect(oneLine(await tfleet(['submit', join(dir, 'broken.yaml')], env))).toMatch(/^tfleet: spec file .*broken\.yaml is not valid YAML: /);
      const missing = await tfleet(['submit', join(dir, 'absent.json')], env);
      expect(missing.code).toBe(2);
      expect(oneLine(missing)).toMatch(/^tfleet: cannot read spec file .*absent\.json: no such file$/);
    });

    it("a 400 from the API (a bad filter): exit 2 with the API's message naming the field", async () => {
      const run = await tfleet(['leaderboard', '-d', 'mnist', '--filter', "model.family = = 'x'"], env);
      expect(run.code).toBe(2);
      expect(oneLine(run)).toMatch(/^tfleet: invalid query: filter: /);
    });

    it('a wrong key: exit 4, says which key was refused and how to give the right one', async () => {
      const run = await tfleet(['ls'], { ...env, TFLEET_API_KEY: 'not-the-key-0123456789' });
      expect(run.code).toBe(4);
      expect(oneLine(run)).toBe(`tfleet: the API at ${stack.baseUrl} refused the key from TFLEET_API_KEY (unknown or revoked API key): pass the key the API printed at start with --key or TFLEET_API_KEY`);
      const flag = await tfleet(['ls', '--key', 'not-the-key-0123456789'], env);
      expect(flag.code).toBe(4);
      expect(oneLine(flag)).toContain('refused the key from --key');
    });

    it('no key at all for a local API: exit 4', async () => {
      const run = await tfleet(['ls'], { TFLEET_URL: stack.baseUrl }, dir);
      expect(run.code).toBe(4);
      expect(oneLine(run)).toMatch(/^tfleet: no API key: pass --key <key> or set TFLEET_API_KEY \(no key file at .*api-key/);
    });

    it('an unreachable API: exit 3, says where it looked', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = await tfleet(['ls', '--url', url], env);
      expect(run.code).toBe(3);
      expect(oneLine(run)).toBe(`tfleet: cannot reach the tfleet API at ${url} (ECONNREFUSED): start it (npm start) or point --url / TFLEET_URL at it`);
    });

    it('an unknown experiment: exit 5 with the API\'s 404 message', async () => {
      const run = await tfleet(['get', '00000000-0000-4000-8000-000000000000'], env);
      expect(run.code).toBe(5);
      expect(oneLine(run)).toBe('tfleet: experiment 00000000-0000-4000-8000-000000000000 not found');
    });

    it('sweep, shootout, export and predict for an unknown id: exit 5 with the API\'s 404 message', async () => {
      const sweep = await tfleet(['sweep', 'get', 'no-such-sweep'], env);
      expect(sweep.code).toBe(5);
      expect(oneLine(sweep)).toBe('tfleet: sweep no-such-sweep not found');
      const shootout = await tfleet(['shootout', 'get', '00000000-0000-4000-8000-000000000000'], env);
      expect(shootout.code).toBe(5);
      expect(oneLine(shootout)).toMatch(/^tfleet: .*00000000-0000-4000-8000-000000000000 not found$/);
      const exported = await tfleet(['export', '00000000-0000-4000-8000-000000000000', join(dir, 'model')], env);
      expect(exported.code).toBe(5);
      expect(oneLine(exported)).toBe('tfleet: experiment 00000000-0000-4000-8000-000000000000 not found');
      const predicted = await tfleet(['predict', '00000000-0000-4000-8000-000000000000', '--json', '{"image": []}'], env);
      expect(predicted.code).toBe(5);
      expect(oneLine(predicted)).toBe('tfleet: experiment 00000000-0000-4000-8000-000000000000 not found');
    });

    it('a predict body that does not fit the data set: exit 2 naming the field; one that is not JSON: exit 2', async () => {
      const unfit = await tfleet(['predict', tinyId, '--json', '{"image": [[0, 1]]}'], env);
      expect(unfit.code).toBe(2);
      expect(oneLine(unfit)).toMatch(/^tfleet: .*image: expected 28 rows/);
      const broken = await tfleet(['predict', tinyId, '--json', '{image'], env);
      expect(broken.code).toBe(2);
      expect(oneLine(broken)).toMatch(/^tfleet: --json is not valid JSON \(.*\): quote the body/);
    });

    it('a usage error: exit 2', async () => {
      const run = await tfleet(['submit'], env);
      expect(run.code).toBe(2);
      expect(oneLine(run)).toBe("error: missing required argument 'file'");
    });
  });

  it('the package bin names the built command, which starts with a shebang', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['tfleet']).toBe('dist/apps/cli/src/tfleet.js');
    expect(readFileSync(TFLEET, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

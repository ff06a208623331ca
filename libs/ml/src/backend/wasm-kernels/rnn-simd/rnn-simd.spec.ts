import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend';
import { compileWat } from '../simd/wat-compiler';
import { asWasmBackend } from '../wasm-internals';
import { FusedGRU, FusedLSTM } from '../../../layers/fused-recurrent';
import { FusedSimpleRNN } from '../../../layers/fused-simple-rnn';
import { WasmMachine } from '../recurrent-sequence';
import { RNN_KERNELS_WASM_BASE64 } from './rnn-kernels-wasm';
import { RNN_GENERATED_FILE_NAME, RNN_WAT_FILE_NAME, rnnGeneratedModuleSource, rnnSimdSourceDir } from './generate';
import { rnnKernels } from './index';

// The kernels' numerics are tested against tfjs-layers' LSTM, GRU and SimpleRNN (cpu and wasm)
// through the fused layers that use them (layers/fused-recurrent.spec.ts,
// layers/fused-simple-rnn.spec.ts), and below against the same fused layers on the cpu backend
// (the plain JS loops of ../recurrent-sequence.ts and ../simple-rnn-sequence.ts) at widths
// that are and are not multiples of 4, where the SIMD body and the one-lane tail split a row.

describe('rnn SIMD kernel module', () => {
  it('the committed bytes are a fresh compile of rnn-kernels.wat (run rnn-simd/generate after editing it)', async () => {
    const dir = rnnSimdSourceDir();
    const bytes = await compileWat(fs.readFileSync(path.join(dir, RNN_WAT_FILE_NAME), 'utf8'), RNN_WAT_FILE_NAME);
    expect(Buffer.from(bytes).toString('base64')).toBe(RNN_KERNELS_WASM_BASE64);
    expect(fs.readFileSync(path.join(dir, RNN_GENERATED_FILE_NAME), 'utf8')).toBe(rnnGeneratedModuleSource(bytes));
  });

  it('instantiates once per backend on the backend heap; lstm_pre writes hard-sigmoid gates and 2·z_c', async () => {
    await initBackend('wasm');
    const before = tf.memory().numTensors;
    const backend = asWasmBackend(tf.backend());
    const kernels = rnnKernels(backend);
    expect(rnnKernels(backend)).toBe(kernels);
    // batch 1, 4 units: blocks i, f, c, o.
    const z = tf.tensor1d([-5, -2.5, 0, 1, 2, 2.5, 3, -1, 0.5, -0.5, 1.5, 4, 10, -10, 0.25, 2.4]);
    const gates = tf.zeros([16]);
    const twice = tf.zeros([4]);
    const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
    kernels.lstm_pre(at(z), at(gates), at(twice), 1, 4, 1);
    const hard = (x: number) => Math.min(1, Math.max(0, 0.2 * x + 0.5));
    const g = gates.dataSync();
    const zv = z.dataSync();
    for (const block of [0, 1, 3]) {
      for (let j = 0; j < 4; j++) expect(g[block * 4 + j]).toBeCloseTo(hard(zv[block * 4 + j]), 6);
    }
    expect(Array.from(twice.dataSync())).toEqual([1, -1, 3, 8]);
    tf.dispose([z, gates, twice]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** max |actual - expected| <= TOLERANCE * max(1, max |expected|), as in the layers' specs. */
const TOLERANCE = 2e-5;

/** Units of the width tests: the tail alone (1, 3), body and tail (5, 74, 75), body alone (4, 8). */
const WIDTHS = [1, 3, 4, 5, 8, 74, 75];

type Family = 'lstm' | 'gru' | 'simple-rnn';

interface WidthCase {
  family: Family;
  units: number;
  /** LSTM/GRU: the recurrent activation; SimpleRNN: the activation. */
  activation: 'hardSigmoid' | 'sigmoid' | 'tanh' | 'relu';
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  mask: boolean;
  initialState: boolean;
  bidirectional: boolean;
}

const BATCH = 3;
const STEPS = 6;
const FEATURES = 3;

function stateCount(c: WidthCase): number {
  return c.family === 'lstm' ? 2 : 1;
}

function makeLayer(c: WidthCase): tf.layers.Layer {
  const common = {
    units: c.units,
    returnSequences: c.returnSequences,
    returnState: c.returnState,
    goBackwards: c.goBackwards,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
    // Glorot rather than orthogonal: the orthogonal initialiser's QR is slow in JS at 75 units,
    // and the weights are copied from the cpu run anyway.
    recurrentInitializer: tf.initializers.glorotUniform({ seed: 6 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 7 }),
  };
  let layer: tf.layers.Layer;
  if (c.family === 'lstm') layer = new FusedLSTM({ ...common, recurrentActivation: c.activation, unitForgetBias: true });
  else if (c.family === 'gru') layer = new FusedGRU({ ...common, recurrentActivation: c.activation });
  else layer = new FusedSimpleRNN({ ...common, activation: c.activation });
  // The forward and backward layers of Bidirectional are both the fused class (tfjs builds the
  // backward one from the forward one's config).
  return c.bidirectional ? tf.layers.bidirectional({ layer: layer as tf.layers.RNN, mergeMode: 'concat' }) : layer;
}

/** Deterministic values in [-1.5, 1.5), the same on every backend (generated in JS). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed * 2654435761;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x6d2b79f5) | 0;
    out[i] = ((s >>> 0) / 4294967296) * 3 - 1.5;
  }
  return out;
}

interface WidthRun {
  weights: Float32Array[];
  /** Outputs, then the gradients w.r.t. x, the initial states (when given) and every weight. */
  results: Array<{ shape: number[]; data: Float32Array }>;
}

/**
 * Builds the layer on the active backend (with `weights` when given), then the outputs and the
 * gradients of sum_k <output_k, r_k> for fixed r_k. Asserts that no tensor leaked.
 */
function runWidthCase(c: WidthCase, weights: Float32Array[] | null): WidthRun {
  const layer = makeLayer(c);
  const width = c.bidirectional ? 2 * c.units : c.units;
  const x = tf.tensor3d(values(BATCH * STEPS * FEATURES, 1), [BATCH, STEPS, FEATURES]);
  tf.dispose(layer.apply(x) as tf.Tensor | tf.Tensor[]);
  if (weights) layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
  const ownWeights = layer.getWeights().map((w) => Float32Array.from(w.dataSync()));
  const before = tf.memory().numTensors;
  const results = tf.tidy(() => {
    // Bidirectional splits initial states between its two layers: one set per direction.
    const states = c.initialState ? Array.from({ length: stateCount(c) * (c.bidirectional ? 2 : 1) }, (_, k) => tf.tensor2d(values(BATCH * c.units, 2 + k), [BATCH, c.units])) : [];
    // Sample b has length STEPS - b: the rest of its row is masked.
    const mask = c.mask ? tf.tensor2d(Array.from({ length: BATCH * STEPS }, (_, i) => (i % STEPS < STEPS - Math.floor(i / STEPS) ? 1 : 0)), [BATCH, STEPS], 'bool') : undefined;
    const forward = (xv: tf.Tensor, stateValues: tf.Tensor[]): tf.Tensor[] => {
      const kwargs: Record<string, unknown> = {};
      if (mask) kwargs['mask'] = mask;
      if (stateValues.length) kwargs['initialState'] = stateValues;
      const y = layer.apply(xv, kwargs) as tf.Tensor | tf.Tensor[];
      return Array.isArray(y) ? y : [y];
    };
    const loss = (outs: tf.Tensor[]): tf.Scalar =>
      tf.addN(outs.map((t, k) => t.mul(tf.tensor(values(t.size, 10 + k), t.shape)).sum())) as tf.Scalar;
    const outputs = forward(x, states);
    expect(outputs[0].shape[outputs[0].shape.length - 1]).toBe(width);
    const inputGrads = tf.grads((...args: tf.Tensor[]) => loss(forward(args[0], args.slice(1))))([x, ...states]);
    const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => loss(forward(x, states)), variables);
    const all = [...outputs, ...inputGrads, ...variables.map((v) => grads[v.name])];
    return all.map((t) => ({ shape: [...t.shape], data: Float32Array.from(t.dataSync()) }));
  });
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  layer.dispose();
  return { weights: ownWeights, results };
}

function maxRelativeDiff(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

function widthCases(): Array<[string, WidthCase]> {
  const plain = { returnSequences: false, returnState: false, goBackwards: false, mask: false, initialState: false, bidirectional: false };
  const cases: Array<[string, WidthCase]> = [];
  const families: Array<[Family, WidthCase['activation'][]]> = [
    ['lstm', ['hardSigmoid', 'sigmoid']],
    ['gru', ['hardSigmoid', 'sigmoid']],
    ['simple-rnn', ['tanh', 'relu']],
  ];
  for (const [family, activations] of families) {
    for (const units of WIDTHS) {
      const [first, second] = activations;
      cases.push([`${family} ${units} units, ${first}, last output`, { family, units, activation: first, ...plain }]);
      // Every mask / direction / state path of the kernels: masked rows in forward and backward,
      // the output gradient of each step (returnSequences), initial-state gradients.
      cases.push([
        `${family} ${units} units, ${second}, masked, backwards, sequences and states, initial state`,
        { family, units, activation: second, ...plain, returnSequences: true, returnState: true, goBackwards: true, mask: true, initialState: true },
      ]);
    }
    for (const units of [5, 74]) {
      cases.push([`${family} ${units} units, ${activations[0]}, Bidirectional, masked sequences`, { family, units, activation: activations[0], ...plain, returnSequences: true, mask: true, bidirectional: true }]);
    }
  }
  return cases;
}

describe('rnn SIMD gate kernels at any width: wasm against the cpu backend (JS loops)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('the wasm machine takes the SIMD kernels at every width, and a tail writes only its own columns', async () => {
    await initBackend('wasm');
    const backend = asWasmBackend(tf.backend());
    const machine = new WasmMachine(backend);
    for (const u of [1, 2, 3, 5, 7, 74, 75]) expect(machine.gateKernels(u)).not.toBeNull();
    expect(() => machine.gateKernels(0)).toThrow(/positive whole number/);
    const kernels = rnnKernels(backend);
    const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
    const before = tf.memory().numTensors;
    for (const u of [1, 3, 5, 74, 75]) {
      const batch = 3;
      // gru_candidate: twice [batch, u] = 2·(xw's h block + hr). The buffer has u + 1 columns per
      // row and the kernel sees a row stride of u: the extra column of the last row is a guard.
      const xw = tf.tensor1d(values(batch * 3 * u, u));
      const hr = tf.tensor1d(values(batch * u, u + 1));
      const twice = tf.fill([batch * u + 4], 123);
      kernels.gru_candidate(at(xw) + 8 * u, at(hr), at(twice), batch, u);
      const X = xw.dataSync();
      const H = hr.dataSync();
      const T = twice.dataSync();
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < u; j++) expect(T[b * u + j]).toBeCloseTo(2 * (X[b * 3 * u + 2 * u + j] + H[b * u + j]), 5);
      }
      expect(Array.from(T.subarray(batch * u))).toEqual([123, 123, 123, 123]);
      // srnn_out (relu) with a masked row: row 1 copies hPrev, the others are max(0, z).
      const z = tf.tensor1d(values(batch * u, u + 2));
      const hPrev = tf.tensor1d(values(batch * u, u + 3));
      const hNext = tf.fill([batch * u + 4], 123);
      const mask = tf.tensor1d([1, 0, 1]);
      kernels.srnn_out(at(z), at(hPrev), at(hNext), at(mask), batch, u, 1);
      const Z = z.dataSync();
      const P = hPrev.dataSync();
      const N = hNext.dataSync();
      for (let i = 0; i < batch * u; i++) expect(N[i]).toBe(Math.floor(i / u) === 1 ? P[i] : Math.max(0, Z[i]));
      expect(Array.from(N.subarray(batch * u))).toEqual([123, 123, 123, 123]);
      tf.dispose([xw, hr, twice, z, hPrev, hNext, mask]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(widthCases())('%s: outputs and gradients as on cpu', async (_name, c) => {
    await tf.setBackend('cpu');
    const expected = runWidthCase(c, null);
    await initBackend('wasm');
    const actual = runWidthCase(c, expected.weights);
    expect(actual.results.length).toBe(expected.results.length);
    actual.results.forEach((r, i) => {
      expect(r.shape).toEqual(expected.results[i].shape);
      expect(maxRelativeDiff(r.data, expected.results[i].data)).toBeLessThan(TOLERANCE);
    });
    // The last weight gradient is not all zero (the comparison would pass trivially).
    const last = expected.results[expected.results.length - 1].data;
    expect(last.some((v) => v !== 0)).toBe(true);
  });
});

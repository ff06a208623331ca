import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { FusedGRU, FusedLSTM } from './fused-recurrent';

/*
 * FusedLSTM / FusedGRU against tfjs-layers' LSTM / GRU with the same weights: outputs and the
 * gradients w.r.t. inputs, initial states and every weight. Tolerance: max |fused - stock| <=
 * 2e-5 * max(1, max |stock|). Observed differences are ~1e-7 to 1e-6: the fused kernels do
 * each step's gate arithmetic in doubles and round once, tfjs rounds after every op.
 */
const TOLERANCE = 2e-5;

type Kind = 'lstm' | 'gru';
type Backend = 'cpu' | 'wasm';

interface Case {
  batch: number;
  steps: number;
  features: number;
  units: number;
  returnSequences: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  gate?: 'hardSigmoid' | 'sigmoid';
  useBias?: boolean;
  mask?: boolean;
  initialState?: boolean;
  /** Glorot-uniform recurrent kernel instead of orthogonal (whose QR takes minutes in JS at 128 units). */
  glorotRecurrent?: boolean;
  /** Only on wasm, where the bench runs (tfjs-layers' GRU takes ~30 s for it on cpu). */
  wasmOnly?: boolean;
}

type RnnLayer = ReturnType<typeof tf.layers.lstm> | ReturnType<typeof tf.layers.gru>;

function layerArgs(c: Case, seed: number) {
  return {
    units: c.units,
    returnSequences: c.returnSequences,
    returnState: c.returnState ?? false,
    goBackwards: c.goBackwards ?? false,
    recurrentActivation: c.gate,
    useBias: c.useBias ?? true,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: c.glorotRecurrent ? tf.initializers.glorotUniform({ seed: seed + 1 }) : tf.initializers.orthogonal({ seed: seed + 1 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 2 }),
  };
}

function makeLayers(kind: Kind, c: Case): { stock: RnnLayer; fused: RnnLayer } {
  if (kind === 'lstm') {
    return {
      stock: tf.layers.lstm({ ...layerArgs(c, 5), unitForgetBias: true }),
      fused: new FusedLSTM({ ...layerArgs(c, 5), unitForgetBias: true }),
    };
  }
  return { stock: tf.layers.gru(layerArgs(c, 5)), fused: new FusedGRU(layerArgs(c, 5)) };
}

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1.5, 1.5, 'float32', seed);
}

function relativeDiff(actual: tf.Tensor, expected: tf.Tensor): number {
  expect(actual.shape).toEqual(expected.shape);
  return tf.tidy(() => {
    const diff = actual.sub(expected).abs().max().dataSync()[0];
    const scale = Math.max(1, expected.abs().max().dataSync()[0]);
    return diff / scale;
  });
}

interface Run {
  outputs: tf.Tensor[];
  /** Gradients w.r.t. x, then the initial states (when given), then the layer's weights. */
  grads: tf.Tensor[];
}

/** Outputs and gradients of sum_k <output_k, r_k> with fixed random r_k. */
function runLayer(layer: RnnLayer, c: Case, kind: Kind): Run {
  return tf.tidy(() => {
    const x = seeded([c.batch, c.steps, c.features], 1);
    const states = c.initialState ? (kind === 'lstm' ? [seeded([c.batch, c.units], 2), seeded([c.batch, c.units], 3)] : [seeded([c.batch, c.units], 2)]) : [];
    // Rows of each sample after its length are masked; lengths 1..steps.
    const mask = c.mask
      ? tf.tensor2d(
          Array.from({ length: c.batch * c.steps }, (_, i) => (i % c.steps < c.steps - (Math.floor(i / c.steps) % c.steps) ? 1 : 0)),
          [c.batch, c.steps],
          'bool',
        )
      : undefined;
    const forward = (xv: tf.Tensor, stateValues: tf.Tensor[]): tf.Tensor[] => {
      const kwargs: Record<string, unknown> = {};
      if (mask) kwargs['mask'] = mask;
      if (stateValues.length) kwargs['initialState'] = stateValues;
      const y = layer.apply(xv, kwargs) as tf.Tensor | tf.Tensor[];
      return Array.isArray(y) ? y : [y];
    };
    const loss = (outs: tf.Tensor[]): tf.Scalar => tf.addN(outs.map((t, k) => t.mul(seeded(t.shape, 10 + k)).sum())) as tf.Scalar;

    const outputs = forward(x, states);
    // tfjs cannot differentiate its own RNN w.r.t. a one-step input (its Unpack gradient
    // fails), so for one step only the initial states (if any) are compared here.
    const inputGrads =
      c.steps > 1
        ? tf.grads((...args: tf.Tensor[]) => loss(forward(args[0], args.slice(1))))([x, ...states])
        : states.length
          ? tf.grads((...args: tf.Tensor[]) => loss(forward(x, args)))(states)
          : [];
    const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => loss(forward(x, states)), variables);
    return { outputs, grads: [...inputGrads, ...variables.map((v) => grads[v.name])] };
  });
}

async function useBackend(backend: Backend): Promise<void> {
  if (backend === 'wasm') await initBackend('wasm');
  else await tf.setBackend('cpu');
}

function buildBoth(kind: Kind, c: Case): { stock: RnnLayer; fused: RnnLayer } {
  const layers = makeLayers(kind, c);
  const probe = tf.zeros([c.batch, c.steps, c.features]);
  for (const layer of [layers.stock, layers.fused]) tf.dispose(layer.apply(probe) as tf.Tensor | tf.Tensor[]);
  probe.dispose();
  return layers;
}

const CASES: Array<[string, Case]> = [
  ['last output', { batch: 3, steps: 5, features: 4, units: 6, returnSequences: false }],
  ['sequences and states', { batch: 2, steps: 4, features: 3, units: 5, returnSequences: true, returnState: true }],
  ['batch 1, one step, sigmoid gates', { batch: 1, steps: 1, features: 3, units: 4, returnSequences: true, gate: 'sigmoid' }],
  ['batch 1, one step, last output', { batch: 1, steps: 1, features: 2, units: 3, returnSequences: false }],
  ['batch 1, 9 steps, states only', { batch: 1, steps: 9, features: 2, units: 7, returnSequences: false, returnState: true }],
  ['masked, backwards, states', { batch: 4, steps: 6, features: 3, units: 5, returnSequences: true, returnState: true, mask: true, goBackwards: true }],
  ['masked last output', { batch: 5, steps: 4, features: 3, units: 4, returnSequences: false, mask: true }],
  ['initial state, sequences', { batch: 3, steps: 4, features: 2, units: 5, returnSequences: true, initialState: true }],
  ['initial state, one step', { batch: 2, steps: 1, features: 2, units: 3, returnSequences: false, returnState: true, initialState: true }],
  ['no bias, sigmoid gates', { batch: 2, steps: 3, features: 4, units: 3, returnSequences: false, useBias: false, gate: 'sigmoid' }],
  // Units a multiple of 4: on wasm only the SIMD kernels' vector body runs (rnn-simd); the other
  // widths above take its one-lane tail as well.
  ['SIMD gates: masked sequences and states', { batch: 4, steps: 6, features: 3, units: 8, returnSequences: true, returnState: true, mask: true }],
  ['SIMD gates: sigmoid, initial state, sequences', { batch: 3, steps: 5, features: 2, units: 8, returnSequences: true, initialState: true, gate: 'sigmoid' }],
  ['SIMD gates: sigmoid, masked, backwards', { batch: 5, steps: 4, features: 3, units: 4, returnSequences: false, mask: true, goBackwards: true, gate: 'sigmoid' }],
  // lstm-lm / gru-lm's layer (128 units over 32 steps of 32 features, sigmoid gates, last
  // output), at a small batch.
  ["the bench's shape: 128 units, 32 steps", { batch: 2, steps: 32, features: 32, units: 128, returnSequences: false, gate: 'sigmoid', glorotRecurrent: true, wasmOnly: true }],
];

/**
 * Backpropagated through 200 steps, the gradients of the first steps decay below 1e-30, where
 * the fused kernels flush gate derivatives to zero (subnormals are slow in wasm); tfjs keeps
 * them. Measured with these weights: the first ~30 (LSTM) and ~70 (GRU) steps' input gradients
 * come out exactly 0, against at most 1e-28 from tfjs.
 */
const LONG: Case = { batch: 2, steps: 200, features: 3, units: 8, returnSequences: false, gate: 'sigmoid' };

describe.each<[Backend]>([['cpu'], ['wasm']])('fused recurrent layers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  describe.each<[Kind]>([['lstm'], ['gru']])('%s', (kind) => {
    it.each(CASES.filter(([, c]) => backend === 'wasm' || c.wasmOnly !== true))('%s: same initial weights, outputs and gradients as tfjs-layers', (_name, c) => {
      const { stock, fused } = buildBoth(kind, c);
      const stockWeights = stock.getWeights();
      const fusedWeights = fused.getWeights();
      // Same initialisers, same shapes and order (incl. unitForgetBias): identical weights.
      expect(fusedWeights.map((w) => w.shape)).toEqual(stockWeights.map((w) => w.shape));
      fusedWeights.forEach((w, i) => expect(relativeDiff(w, stockWeights[i])).toBe(0));

      const before = tf.memory().numTensors;
      const expected = runLayer(stock, c, kind);
      const actual = runLayer(fused, c, kind);
      expect(actual.outputs.length).toBe(expected.outputs.length);
      actual.outputs.forEach((t, i) => expect(relativeDiff(t, expected.outputs[i])).toBeLessThan(TOLERANCE));
      expect(actual.grads.length).toBe(expected.grads.length);
      actual.grads.forEach((t, i) => expect(relativeDiff(t, expected.grads[i])).toBeLessThan(TOLERANCE));
      // The gradients are not all zero (the comparison would pass trivially).
      expect(tf.tidy(() => actual.grads[actual.grads.length - 1].abs().sum().dataSync()[0])).toBeGreaterThan(0);
      tf.dispose([...expected.outputs, ...expected.grads, ...actual.outputs, ...actual.grads]);
      expect(tf.memory().numTensors).toBe(before);
      stock.dispose();
      fused.dispose();
    });
  });

  it.each<[Kind]>([['lstm'], ['gru']])('%s over a long sequence: gradients below 1e-30 flush to zero, and nothing else changes', (kind) => {
    // No unit forget bias here: it slows the decay, and 200 steps would not reach 1e-30.
    const args = layerArgs(LONG, 5);
    const stock = kind === 'lstm' ? tf.layers.lstm(args) : tf.layers.gru(args);
    const fused = kind === 'lstm' ? new FusedLSTM(args) : new FusedGRU(args);
    const probe = tf.zeros([LONG.batch, LONG.steps, LONG.features]);
    for (const layer of [stock, fused]) tf.dispose(layer.apply(probe) as tf.Tensor);
    probe.dispose();
    fused.setWeights(stock.getWeights());
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => tf.variable(seeded([LONG.batch, LONG.steps, LONG.features], 1)));
    const gradients = (layer: RnnLayer): { dx: Float32Array; all: tf.Tensor[] } =>
      tf.tidy(() => {
        const variables = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
        const { grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).mul(seeded([LONG.batch, LONG.units], 10)).sum(), variables);
        const all = variables.map((v) => grads[v.name]!);
        return { dx: all[0]!.dataSync() as Float32Array, all };
      });
    const expected = gradients(stock);
    const actual = gradients(fused);
    actual.all.forEach((t, i) => expect(relativeDiff(t, expected.all[i]!)).toBeLessThan(TOLERANCE));
    // Per timestep, the largest |dx| of any sample and feature.
    const perStep = (dx: Float32Array): number[] =>
      Array.from({ length: LONG.steps }, (_, t) => {
        let m = 0;
        for (let b = 0; b < LONG.batch; b++) for (let f = 0; f < LONG.features; f++) m = Math.max(m, Math.abs(dx[(b * LONG.steps + t) * LONG.features + f]!));
        return m;
      });
    const fusedSteps = perStep(actual.dx);
    const stockSteps = perStep(expected.dx);
    const flushed = fusedSteps.map((m, t) => (m === 0 && stockSteps[t]! > 0 ? t : -1)).filter((t) => t >= 0);
    // The flush path ran: steps whose tfjs gradient is tiny but not zero come out exactly 0 ...
    expect(flushed.length).toBeGreaterThan(0);
    // ... and what it dropped was below 1e-25 everywhere; the late steps carry real gradients.
    expect(Math.max(...flushed.map((t) => stockSteps[t]!))).toBeLessThan(1e-25);
    expect(fusedSteps[LONG.steps - 1]!).toBeGreaterThan(1e-3);
    tf.dispose([...expected.all, ...actual.all, x]);
    expect(tf.memory().numTensors).toBe(before);
    stock.dispose();
    fused.dispose();
  });

  it('one step has the same input gradient as one tfjs-layers cell step (tfjs cannot differentiate its RNN w.r.t. a 1-step input)', () => {
    const c: Case = { batch: 2, steps: 1, features: 3, units: 4, returnSequences: false };
    const fused = new FusedLSTM({ ...layerArgs(c, 9), unitForgetBias: true });
    const cell = tf.layers.lstmCell({ ...layerArgs(c, 9), unitForgetBias: true });
    const x = seeded([c.batch, 1, c.features], 4);
    tf.dispose(fused.apply(x) as tf.Tensor);
    cell.build([c.batch, c.features]);
    cell.setWeights(fused.getWeights());
    const before = tf.memory().numTensors;
    const r = seeded([c.batch, c.units], 5);
    const [expected, actual] = tf.tidy(() => {
      const zeros = tf.zeros([c.batch, c.units]);
      const viaCell = tf.grad((xv: tf.Tensor) => (cell.call([xv.reshape([c.batch, c.features]), zeros, zeros], {}) as tf.Tensor[])[0].mul(r).sum())(x);
      const viaFused = tf.grad((xv: tf.Tensor) => (fused.apply(xv) as tf.Tensor).mul(r).sum())(x);
      return [viaCell, viaFused];
    });
    expect(relativeDiff(actual, expected)).toBeLessThan(TOLERANCE);
    expect(tf.tidy(() => expected.abs().sum().dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([expected, actual, r]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x]);
    fused.dispose();
    // The cell was only called, never applied, so Layer.dispose refuses it: free its weights.
    cell.weights.forEach((w) => w.dispose());
  });

  it('inside Bidirectional: same outputs and weight gradients as a bidirectional tfjs-layers LSTM', () => {
    const c: Case = { batch: 3, steps: 5, features: 4, units: 3, returnSequences: true };
    const stock = tf.layers.bidirectional({ layer: tf.layers.lstm({ ...layerArgs(c, 2), unitForgetBias: true }), mergeMode: 'concat' });
    const fused = tf.layers.bidirectional({ layer: new FusedLSTM({ ...layerArgs(c, 2), unitForgetBias: true }), mergeMode: 'concat' });
    const x = seeded([c.batch, c.steps, c.features], 6);
    tf.dispose([stock.apply(x) as tf.Tensor, fused.apply(x) as tf.Tensor]);
    fused.setWeights(stock.getWeights());
    const before = tf.memory().numTensors;
    const run = (layer: tf.layers.Layer) =>
      tf.tidy(() => {
        const r = seeded([c.batch, c.steps, 2 * c.units], 7);
        const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).mul(r).sum(), variables);
        return [value, ...variables.map((v) => grads[v.name])];
      });
    const expected = run(stock);
    const actual = run(fused);
    expect(actual.length).toBe(7);
    actual.forEach((t, i) => expect(relativeDiff(t, expected[i])).toBeLessThan(TOLERANCE));
    tf.dispose([...expected, ...actual]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    stock.dispose();
    fused.dispose();
  });

  it('a training step takes the fused kernels, with a kernel count that does not grow with the sequence length', async () => {
    const count = async (steps: number, layer: RnnLayer): Promise<{ total: number; names: Set<string> }> => {
      const x = seeded([4, steps, 3], 8);
      tf.dispose(layer.apply(x) as tf.Tensor);
      const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => (layer.apply(x) as tf.Tensor).sum(), variables);
        tf.dispose([value, ...Object.values(grads)]);
      });
      x.dispose();
      layer.dispose();
      return { total: profile.kernels.length, names: new Set(profile.kernels.map((k) => k.name)) };
    };
    for (const [make, kernel] of [
      [() => new FusedLSTM({ units: 5 }), 'TfleetLstmSequence'],
      [() => new FusedGRU({ units: 5 }), 'TfleetGruSequence'],
    ] as const) {
      const short = await count(4, make());
      const long = await count(24, make());
      expect(short.names.has(kernel)).toBe(true);
      expect(short.names.has(`${kernel}Grad`)).toBe(true);
      expect(long.total).toBe(short.total);
      expect(long.total).toBeLessThan(60);
    }
    // Cell dropout is not fused: the layer falls back to tfjs-layers' per-timestep loop.
    const fallback = await count(4, new FusedLSTM({ units: 5, dropout: 0.2 }));
    expect(fallback.names.has('TfleetLstmSequence')).toBe(false);
  });

  it('round-trips through save and load as TfleetFusedLSTM / TfleetFusedGRU with the same outputs', async () => {
    const input = tf.input({ shape: [6, 3] });
    let y = new FusedLSTM({ units: 4, returnSequences: true, unitForgetBias: true }).apply(input) as tf.SymbolicTensor;
    y = new FusedGRU({ units: 5, recurrentActivation: 'sigmoid' }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts) throw new Error('nothing saved');
    expect(JSON.stringify(artifacts.modelTopology)).toContain('TfleetFusedLSTM');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'TfleetFusedLSTM', 'TfleetFusedGRU']);
    const x = seeded([2, 6, 3], 9);
    const before = tf.memory().numTensors;
    const diff = tf.tidy(() => relativeDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor));
    expect(diff).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
    loaded.dispose();
  });
});

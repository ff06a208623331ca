import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { FusedSimpleRNN } from './fused-simple-rnn';

/*
 * FusedSimpleRNN against tfjs-layers' SimpleRNN with the same weights: outputs and the gradients
 * w.r.t. inputs, the initial state and every weight. Tolerance as for the fused LSTM / GRU:
 * max |fused - stock| <= 2e-5 * max(1, max |stock|).
 */
const TOLERANCE = 2e-5;

type Backend = 'cpu' | 'wasm';
type Activation = 'tanh' | 'relu';

interface Case {
  batch: number;
  steps: number;
  features: number;
  units: number;
  returnSequences: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  activation?: Activation;
  useBias?: boolean;
  mask?: boolean;
  initialState?: boolean;
  /** Glorot-uniform recurrent kernel instead of orthogonal (whose QR takes minutes in JS at 128 units). */
  glorotRecurrent?: boolean;
  /** Only on wasm (tfjs-layers' own loop is slow on cpu at this size). */
  wasmOnly?: boolean;
}

type SimpleRnn = ReturnType<typeof tf.layers.simpleRNN>;

function layerArgs(c: Case, seed: number) {
  return {
    units: c.units,
    returnSequences: c.returnSequences,
    returnState: c.returnState ?? false,
    goBackwards: c.goBackwards ?? false,
    activation: c.activation ?? 'tanh',
    useBias: c.useBias ?? true,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: c.glorotRecurrent ? tf.initializers.glorotUniform({ seed: seed + 1 }) : tf.initializers.orthogonal({ seed: seed + 1 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 2 }),
  };
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
  /** Gradients w.r.t. x, then the initial state (when given), then the layer's weights. */
  grads: tf.Tensor[];
}

/** Outputs and gradients of sum_k <output_k, r_k> with fixed random r_k. */
function runLayer(layer: SimpleRnn, c: Case): Run {
  return tf.tidy(() => {
    const x = seeded([c.batch, c.steps, c.features], 1);
    const states = c.initialState ? [seeded([c.batch, c.units], 2)] : [];
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
    // tfjs cannot differentiate its own RNN w.r.t. a one-step input (its Unpack gradient fails).
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

function buildBoth(c: Case): { stock: SimpleRnn; fused: SimpleRnn } {
  const layers = { stock: tf.layers.simpleRNN(layerArgs(c, 5)), fused: new FusedSimpleRNN(layerArgs(c, 5)) };
  const probe = tf.zeros([c.batch, c.steps, c.features]);
  for (const layer of [layers.stock, layers.fused]) tf.dispose(layer.apply(probe) as tf.Tensor | tf.Tensor[]);
  probe.dispose();
  return layers;
}

const SHAPES: Array<[string, Case]> = [
  ['last output', { batch: 3, steps: 5, features: 4, units: 6, returnSequences: false }],
  ['sequences and state', { batch: 2, steps: 4, features: 3, units: 5, returnSequences: true, returnState: true }],
  ['batch 1, one step, sequences', { batch: 1, steps: 1, features: 3, units: 4, returnSequences: true }],
  ['batch 1, 9 steps, state only', { batch: 1, steps: 9, features: 2, units: 7, returnSequences: false, returnState: true }],
  ['masked, backwards, state', { batch: 4, steps: 6, features: 3, units: 5, returnSequences: true, returnState: true, mask: true, goBackwards: true }],
  ['masked last output', { batch: 5, steps: 4, features: 3, units: 4, returnSequences: false, mask: true }],
  ['initial state, sequences', { batch: 3, steps: 4, features: 2, units: 5, returnSequences: true, initialState: true }],
  ['initial state, one step', { batch: 2, steps: 1, features: 2, units: 3, returnSequences: false, returnState: true, initialState: true }],
  ['no bias', { batch: 2, steps: 3, features: 4, units: 3, returnSequences: false, useBias: false }],
  // The model zoo's default recurrent layer (units 64) on a short sequence, returning sequences.
  ["the zoo's width: 64 units", { batch: 3, steps: 12, features: 16, units: 64, returnSequences: true, returnState: true, glorotRecurrent: true }],
  // simple-rnn-lm's layer (128 units over 32 steps of 32 features, last output), at a small batch.
  ["the bench's shape: 128 units, 32 steps", { batch: 2, steps: 32, features: 32, units: 128, returnSequences: false, glorotRecurrent: true, wasmOnly: true }],
];

const CASES: Array<[string, Case]> = (['tanh', 'relu'] as const).flatMap((activation) =>
  SHAPES.map(([name, c]): [string, Case] => [`${activation}, ${name}`, { ...c, activation }]),
);

describe.each<[Backend]>([['cpu'], ['wasm']])('FusedSimpleRNN on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(CASES.filter(([, c]) => backend === 'wasm' || c.wasmOnly !== true))('%s: same initial weights, outputs and gradients as tfjs-layers', (_name, c) => {
    const { stock, fused } = buildBoth(c);
    const stockWeights = stock.getWeights();
    const fusedWeights = fused.getWeights();
    expect(fusedWeights.map((w) => w.shape)).toEqual(stockWeights.map((w) => w.shape));
    fusedWeights.forEach((w, i) => expect(relativeDiff(w, stockWeights[i])).toBe(0));

    const before = tf.memory().numTensors;
    const expected = runLayer(stock, c);
    const actual = runLayer(fused, c);
    expect(actual.outputs.length).toBe(expected.outputs.length);
    actual.outputs.forEach((t, i) => expect(relativeDiff(t, expected.outputs[i])).toBeLessThan(TOLERANCE));
    expect(actual.grads.length).toBe(expected.grads.length);
    actual.grads.forEach((t, i) => expect(relativeDiff(t, expected.grads[i])).toBeLessThan(TOLERANCE));
    // The weight gradients are not all zero (the comparison would pass trivially); the recurrent
    // kernel's is zero for one step from the zero state, where h_0·U contributes nothing.
    const weightGrads = actual.grads.slice(actual.grads.length - (c.useBias === false ? 2 : 3));
    const magnitude = (t: tf.Tensor): number => tf.tidy(() => t.abs().sum().dataSync()[0]);
    expect(magnitude(weightGrads[0])).toBeGreaterThan(0);
    if (c.steps > 1 || c.initialState) expect(magnitude(weightGrads[1])).toBeGreaterThan(0);
    tf.dispose([...expected.outputs, ...expected.grads, ...actual.outputs, ...actual.grads]);
    expect(tf.memory().numTensors).toBe(before);
    stock.dispose();
    fused.dispose();
  });

  it('inside Bidirectional: same outputs and weight gradients as a bidirectional tfjs-layers SimpleRNN', () => {
    const c: Case = { batch: 3, steps: 5, features: 4, units: 3, returnSequences: true };
    const stock = tf.layers.bidirectional({ layer: tf.layers.simpleRNN(layerArgs(c, 2)), mergeMode: 'concat' });
    const fused = tf.layers.bidirectional({ layer: new FusedSimpleRNN(layerArgs(c, 2)), mergeMode: 'concat' });
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

  it('a training step takes the fused kernels, with a kernel count that does not grow with the sequence length; dropout and other activations fall back', async () => {
    const count = async (steps: number, layer: SimpleRnn): Promise<{ total: number; names: Set<string> }> => {
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
    const short = await count(4, new FusedSimpleRNN({ units: 5 }));
    const long = await count(24, new FusedSimpleRNN({ units: 5 }));
    expect(short.names.has('TfleetSimpleRnnSequence')).toBe(true);
    expect(short.names.has('TfleetSimpleRnnSequenceGrad')).toBe(true);
    expect(long.total).toBe(short.total);
    expect(long.total).toBeLessThan(40);
    for (const layer of [new FusedSimpleRNN({ units: 5, dropout: 0.2 }), new FusedSimpleRNN({ units: 5, activation: 'sigmoid' })]) {
      const fallback = await count(4, layer);
      expect(fallback.names.has('TfleetSimpleRnnSequence')).toBe(false);
    }
  });

  it('saves as TfleetFusedSimpleRNN with the stock config, and loads with the same outputs', async () => {
    const input = tf.input({ shape: [6, 3] });
    const fusedLayer = new FusedSimpleRNN({ units: 4, returnSequences: true, activation: 'relu' });
    const y = fusedLayer.apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    // The same config as SimpleRNN's, so an export that renames the class loads in stock tfjs.
    expect(fusedLayer.getConfig()).toEqual(tf.layers.simpleRNN({ units: 4, returnSequences: true, activation: 'relu', name: fusedLayer.name }).getConfig());
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts) throw new Error('nothing saved');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'TfleetFusedSimpleRNN']);
    const renamed = JSON.parse(JSON.stringify(artifacts.modelTopology).replace(/"TfleetFusedSimpleRNN"/g, '"SimpleRNN"')) as tf.io.ModelArtifacts['modelTopology'];
    const stockLoaded = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology: renamed }));
    expect(stockLoaded.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'SimpleRNN']);
    const x = seeded([2, 6, 3], 9);
    const before = tf.memory().numTensors;
    expect(tf.tidy(() => relativeDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor))).toBe(0);
    expect(tf.tidy(() => relativeDiff(model.predict(x) as tf.Tensor, stockLoaded.predict(x) as tf.Tensor))).toBeLessThan(TOLERANCE);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
    loaded.dispose();
    stockLoaded.dispose();
  });
});

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/backend';
import { MultiHeadAttention, TokenPaddingMask } from './multi-head-attention';
import { PositionEmbedding, SinusoidalPositionEncoding } from './position-embedding';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('nothing saved');
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

function selfAttentionModel(opts: { time: number; dim: number; causal?: boolean; mask?: boolean }): tf.LayersModel {
  const x = tf.input({ shape: [opts.time, opts.dim] });
  const mha = new MultiHeadAttention({ numHeads: 2, keyDim: 3, causal: opts.causal, seed: 7 });
  if (opts.mask) {
    const m = tf.input({ shape: [opts.time] });
    return tf.model({ inputs: [x, m], outputs: mha.apply([x, x, x, m]) as tf.SymbolicTensor });
  }
  return tf.model({ inputs: x, outputs: mha.apply([x, x, x]) as tf.SymbolicTensor });
}

describe('MultiHeadAttention', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('maps [B,Tq,D] queries over [B,Tk,Dk] keys to [B,Tq,D]', () => {
    const layer = new MultiHeadAttention({ numHeads: 4, keyDim: 5, valueDim: 6, seed: 1 });
    const q = tf.randomNormal([2, 3, 8]);
    const kv = tf.randomNormal([2, 7, 4]);
    const before = tf.memory().numTensors;
    const y = layer.apply([q, kv, kv]) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 8]);
    expect(layer.computeOutputShape([[null, 3, 8], [null, 7, 4], [null, 7, 4]])).toEqual([null, 3, 8]);
    // 4 kernels + 4 biases were created on first apply.
    expect(layer.trainableWeights).toHaveLength(8);
    y.dispose();
    const y2 = layer.apply([q, kv]) as tf.Tensor;
    y2.dispose();
    expect(tf.memory().numTensors).toBe(before + 8);
    tf.dispose([q, kv]);
  });

  it('matches a reference computation of softmax(QK^T/sqrt(d))V per head', () => {
    const layer = new MultiHeadAttention({ numHeads: 2, keyDim: 3, seed: 3 });
    const x = tf.randomNormal([2, 4, 5]);
    const y = layer.apply([x, x, x]) as tf.Tensor;
    // Weight order is the build order: kernels first, then biases.
    const names = layer.trainableWeights.map((w) => w.originalName.split('/').pop());
    expect(names).toEqual(['query_kernel', 'key_kernel', 'value_kernel', 'output_kernel', 'query_bias', 'key_bias', 'value_bias', 'output_bias']);
    const expected = tf.tidy(() => {
      const [Wq2, Wk2, Wv2, Wo2, Bq2, Bk2, Bv2, Bo2] = layer.getWeights();
      const outs: tf.Tensor[] = [];
      for (let b = 0; b < 2; b++) {
        const xb = x.slice([b, 0, 0], [1, -1, -1]).reshape([4, 5]) as tf.Tensor2D;
        const heads: tf.Tensor[] = [];
        for (let h = 0; h < 2; h++) {
          const proj = (w: tf.Tensor, bias: tf.Tensor) =>
            tf.matMul(xb, w.slice([0, h * 3], [-1, 3]) as tf.Tensor2D).add(bias.slice([h * 3], [3])) as tf.Tensor2D;
          const qh = proj(Wq2, Bq2);
          const kh = proj(Wk2, Bk2);
          const vh = proj(Wv2, Bv2);
          const p = tf.softmax(tf.matMul(qh, kh, false, true).div(Math.sqrt(3)));
          heads.push(tf.matMul(p as tf.Tensor2D, vh));
        }
        outs.push(tf.matMul(tf.concat(heads, 1) as tf.Tensor2D, Wo2 as tf.Tensor2D).add(Bo2));
      }
      return tf.stack(outs);
    });
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-5);
    tf.dispose([x, y, expected]);
  });

  it('causal: the output at t does not depend on inputs after t', () => {
    const model = selfAttentionModel({ time: 5, dim: 4, causal: true });
    const a = tf.randomNormal([1, 5, 4]);
    const changedTail = tf.tidy(() => tf.concat([a.slice([0, 0, 0], [1, 3, 4]), tf.randomNormal([1, 2, 4])], 1));
    const ya = model.predict(a) as tf.Tensor;
    const yb = model.predict(changedTail) as tf.Tensor;
    const head = (t: tf.Tensor) => t.slice([0, 0, 0], [1, 3, 4]);
    const tail = (t: tf.Tensor) => t.slice([0, 3, 0], [1, 2, 4]);
    tf.tidy(() => {
      expect(maxAbsDiff(head(ya), head(yb))).toBeLessThan(1e-6);
      expect(maxAbsDiff(tail(ya), tail(yb))).toBeGreaterThan(1e-3);
    });
    // Without the causal mask the early positions do see the change.
    const open = selfAttentionModel({ time: 5, dim: 4, causal: false });
    tf.tidy(() => {
      expect(maxAbsDiff(head(open.predict(a) as tf.Tensor), head(open.predict(changedTail) as tf.Tensor))).toBeGreaterThan(1e-4);
    });
    tf.dispose([a, changedTail, ya, yb]);
    model.dispose();
    open.dispose();
  });

  it('key padding mask: padded key positions do not affect any output', () => {
    const model = selfAttentionModel({ time: 4, dim: 6, mask: true });
    // Every query attends to the keys at positions 0..1 only; positions 2..3 are padding.
    const q = tf.randomNormal([2, 4, 6]);
    const mask = tf.tensor2d([[1, 1, 0, 0], [1, 1, 0, 0]]);
    const altered = tf.tidy(() => tf.concat([q.slice([0, 0, 0], [2, 2, 6]), tf.randomNormal([2, 2, 6])], 1));
    // Padded positions change as queries too, so compare only the unpadded query rows.
    tf.tidy(() => {
      const ya = (model.predict([q, mask]) as tf.Tensor).slice([0, 0, 0], [2, 2, 6]);
      const yb = (model.predict([altered, mask]) as tf.Tensor).slice([0, 0, 0], [2, 2, 6]);
      expect(maxAbsDiff(ya, yb)).toBeLessThan(1e-6);
      const unmasked = tf.ones([2, 4]);
      const yc = (model.predict([altered, unmasked]) as tf.Tensor).slice([0, 0, 0], [2, 2, 6]);
      expect(maxAbsDiff(ya, yc)).toBeGreaterThan(1e-4);
    });
    tf.dispose([q, mask, altered]);
    model.dispose();
  });

  it('TokenPaddingMask turns token ids into a 0/1 key mask', () => {
    const ids = tf.tensor2d([[5, 3, 0, 0], [1, 0, 2, 0]], undefined, 'int32');
    const m = new TokenPaddingMask({ padId: 0 }).apply(ids) as tf.Tensor;
    expect(m.dtype).toBe('float32');
    expect(Array.from(m.dataSync())).toEqual([1, 1, 0, 0, 1, 0, 1, 0]);
    tf.dispose([ids, m]);
  });

  it('trains: gradients flow to every weight and no tensor leaks per step', () => {
    const model = selfAttentionModel({ time: 3, dim: 4, causal: true });
    const x = tf.randomNormal([2, 3, 4]);
    const target = tf.randomNormal([2, 3, 4]);
    const opt = tf.train.adam(1e-2);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(target, model.apply(x, { training: true }) as tf.Tensor));
        for (const g of Object.values(grads)) expect(g.abs().sum().dataSync()[0]).toBeGreaterThan(0);
        expect(Object.keys(grads)).toHaveLength(8);
        opt.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0]);
        return value.dataSync()[0];
      });
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 20; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    tf.dispose([x, target]);
    opt.dispose();
    model.dispose();
  });

  it('round-trips through save/load with identical outputs and config', async () => {
    const model = selfAttentionModel({ time: 4, dim: 6, causal: true, mask: true });
    const x = tf.randomNormal([2, 4, 6]);
    const m = tf.tensor2d([[1, 1, 1, 0], [1, 1, 1, 1]]);
    const loaded = await roundTrip(model);
    const layer = loaded.layers.find((l) => l instanceof MultiHeadAttention) as MultiHeadAttention;
    expect(layer.getConfig()).toMatchObject({ numHeads: 2, keyDim: 3, valueDim: 3, causal: true, useBias: true, dropout: 0, seed: 7 });
    tf.tidy(() => {
      expect(maxAbsDiff(model.predict([x, m]) as tf.Tensor, loaded.predict([x, m]) as tf.Tensor)).toBeLessThan(1e-6);
    });
    tf.dispose([x, m]);
    model.dispose();
    loaded.dispose();
  });

  it('applies dropout only while training', () => {
    const layer = new MultiHeadAttention({ numHeads: 1, keyDim: 4, dropout: 0.5, seed: 2 });
    const x = tf.randomNormal([1, 6, 4]);
    tf.tidy(() => {
      const a = layer.apply([x, x], { training: false }) as tf.Tensor;
      const b = layer.apply([x, x]) as tf.Tensor;
      expect(maxAbsDiff(a, b)).toBe(0);
      const c = layer.apply([x, x], { training: true }) as tf.Tensor;
      expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-4);
    });
    x.dispose();
  });

  it.each([
    [{ numHeads: 0, keyDim: 4 }, /numHeads must be a positive integer/],
    [{ numHeads: 2, keyDim: 1.5 }, /keyDim must be a positive integer/],
    [{ numHeads: 2, keyDim: 4, dropout: 1 }, /dropout must be in \[0, 1\)/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => new MultiHeadAttention(args)).toThrow(message);
  });

  it('rejects a wrong input count and a mis-shaped mask', () => {
    const layer = new MultiHeadAttention({ numHeads: 1, keyDim: 2 });
    const x = tf.zeros([1, 3, 2]);
    expect(() => layer.apply([x])).toThrow(/expects inputs \[query, value\]/);
    expect(() => layer.apply([x, x, x, tf.ones([1, 2])])).toThrow(/keyPaddingMask must have shape \[1, 3\]/);
    x.dispose();
  });
});

describe('position layers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('PositionEmbedding adds a learned [T,D] table, accepts shorter sequences, round-trips', async () => {
    const x = tf.input({ shape: [5, 3] });
    const model = tf.model({ inputs: x, outputs: new PositionEmbedding({ sequenceLength: 5, seed: 1 }).apply(x) as tf.SymbolicTensor });
    const zeros = tf.zeros([2, 5, 3]);
    const table = model.layers[1].getWeights()[0];
    tf.tidy(() => {
      const y = model.predict(zeros) as tf.Tensor;
      expect(maxAbsDiff(y, tf.stack([table, table]))).toBeLessThan(1e-7);
    });
    const short = new PositionEmbedding({ sequenceLength: 8 });
    tf.tidy(() => expect((short.apply(tf.zeros([1, 3, 4])) as tf.Tensor).shape).toEqual([1, 3, 4]));
    expect(() => tf.tidy(() => short.apply(tf.zeros([1, 9, 4])) as tf.Tensor)).toThrow(/exceeds sequenceLength 8/);
    const loaded = await roundTrip(model);
    tf.tidy(() => expect(maxAbsDiff(model.predict(zeros) as tf.Tensor, loaded.predict(zeros) as tf.Tensor)).toBe(0));
    expect(loaded.layers[1].getConfig()).toMatchObject({ sequenceLength: 5, seed: 1 });
    zeros.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('SinusoidalPositionEncoding adds sin/cos pairs and has no weights', async () => {
    const layer = new SinusoidalPositionEncoding();
    const y = layer.apply(tf.zeros([1, 3, 4])) as tf.Tensor;
    const v = y.arraySync() as number[][][];
    expect(v[0][0]).toEqual([0, 1, 0, 1]);
    expect(v[0][2][0]).toBeCloseTo(Math.sin(2), 5);
    expect(v[0][2][1]).toBeCloseTo(Math.cos(2), 5);
    expect(v[0][2][2]).toBeCloseTo(Math.sin(2 / 100), 5);
    expect(layer.countParams()).toBe(0);
    y.dispose();
    const x = tf.input({ shape: [3, 4] });
    const model = tf.model({ inputs: x, outputs: new SinusoidalPositionEncoding({ maxWavelength: 500 }).apply(x) as tf.SymbolicTensor });
    const loaded = await roundTrip(model);
    expect(loaded.layers[1].getConfig()).toMatchObject({ maxWavelength: 500 });
    model.dispose();
    loaded.dispose();
  });
});

describe('MultiHeadAttention on the wasm attention kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  interface Case {
    name: string;
    tq: number;
    tk: number;
    valueDim?: number;
    causal?: boolean;
    mask?: boolean;
    /** Heads, key depth and model width (default 3, 4 and 6; keys and values 5 wide). */
    heads?: number;
    keyDim?: number;
    dim?: number;
  }
  const cases: Case[] = [
    { name: 'self-attention', tq: 5, tk: 5 },
    // transformer-enc's attention: 64 positions, 4 heads of depth 32, width 128.
    { name: "the bench's shape: 64 positions, 4 heads of key dim 32", tq: 64, tk: 64, heads: 4, keyDim: 32, dim: 128 },
    { name: "the bench's shape, causal with a padding mask", tq: 64, tk: 64, heads: 4, keyDim: 32, dim: 128, causal: true, mask: true },
    { name: 'cross-attention, valueDim != keyDim', tq: 3, tk: 6, valueDim: 5 },
    { name: 'causal', tq: 6, tk: 6, causal: true },
    { name: 'key padding mask', tq: 4, tk: 7, mask: true },
    { name: 'causal and padding mask', tq: 5, tk: 5, causal: true, mask: true },
  ];

  /** Output and gradients w.r.t. the inputs and every weight, on a backend; checks for leaks. */
  async function outputsAndGrads(backend: 'cpu' | 'wasm', c: Case): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const layer = new MultiHeadAttention({ numHeads: c.heads ?? 3, keyDim: c.keyDim ?? 4, valueDim: c.valueDim, causal: c.causal, seed: 11 });
    const seeded = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const dim = c.dim ?? 6;
    const q = seeded([2, c.tq, dim], 1);
    const kv = seeded([2, c.tk, c.dim ?? 5], 2);
    const maskValues = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1].slice(0, 2 * c.tk);
    const mask = tf.tensor2d(maskValues.concat(new Array(2 * c.tk - maskValues.length).fill(1)), [2, c.tk]);
    const weightsOut = seeded([2, c.tq, dim], 3);
    const inputs = (qv: tf.Tensor, kvv: tf.Tensor): tf.Tensor[] => (c.mask ? [qv, kvv, kvv, mask] : [qv, kvv, kvv]);
    layer.apply(inputs(q, kv));
    const tensors = tf.memory().numTensors;
    const results = tf.tidy(() => {
      const loss = (qv: tf.Tensor, kvv: tf.Tensor): tf.Scalar => (layer.apply(inputs(qv, kvv)) as tf.Tensor).mul(weightsOut).sum();
      const y = layer.apply(inputs(q, kv)) as tf.Tensor;
      const [dq, dkv] = tf.grads(loss)([q, kv]);
      const { grads } = tf.variableGrads(() => loss(q, kv), layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
      return [y, dq, dkv, ...Object.values(grads)];
    });
    const values = results.map((t) => t.dataSync() as Float32Array);
    tf.dispose(results);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([q, kv, mask, weightsOut]);
    layer.dispose();
    return values;
  }

  it.each(cases)('$name: output and all gradients match the cpu path', async (c) => {
    const expected = await outputsAndGrads('cpu', c);
    const actual = await outputsAndGrads('wasm', c);
    expect(actual).toHaveLength(3 + 8);
    actual.forEach((a, i) => {
      const scale = Math.max(1, ...Array.from(expected[i]).map(Math.abs));
      expect(maxAbsDiff(tf.tensor(a), tf.tensor(expected[i])) / scale).toBeLessThan(1e-4);
    });
  });

  interface SelfCase {
    name: string;
    time: number;
    heads: number;
    keyDim: number;
    valueDim?: number;
    dim: number;
    causal?: boolean;
    mask?: boolean;
    useBias?: boolean;
    /** Key and value as tf.clone(x), as the model zoo passes them (same data, another tensor). */
    cloned?: boolean;
  }
  const selfCases: SelfCase[] = [
    { name: 'small', time: 5, heads: 3, keyDim: 4, dim: 6 },
    { name: "the bench's shape (64 positions, 4 heads of 32, width 128)", time: 64, heads: 4, keyDim: 32, dim: 128 },
    { name: "the zoo's encoder (keys and values a clone of the queries, padding mask)", time: 12, heads: 4, keyDim: 16, dim: 64, mask: true, cloned: true },
    { name: 'causal with a padding mask', time: 7, heads: 2, keyDim: 3, dim: 5, causal: true, mask: true },
    { name: 'valueDim != keyDim, no biases', time: 6, heads: 2, keyDim: 3, valueDim: 5, dim: 4, useBias: false },
  ];

  /** Self-attention [x, x, x(, mask)]: output and gradients w.r.t. x and every weight; checks for leaks. */
  async function selfOutputsAndGrads(backend: 'cpu' | 'wasm', c: SelfCase): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const layer = new MultiHeadAttention({ numHeads: c.heads, keyDim: c.keyDim, valueDim: c.valueDim, causal: c.causal, useBias: c.useBias, seed: 13 });
    const x = tf.randomNormal([2, c.time, c.dim], 0, 1, 'float32', 4);
    const weightsOut = tf.randomNormal([2, c.time, c.dim], 0, 1, 'float32', 5);
    const maskValues = Array.from({ length: 2 * c.time }, (_, i) => (i % 5 === 3 ? 0 : 1));
    const mask = tf.tensor2d(maskValues, [2, c.time]);
    const inputs = (xv: tf.Tensor): tf.Tensor[] => {
      const kv = c.cloned ? tf.clone(xv) : xv;
      return c.mask ? [xv, kv, kv, mask] : [xv, kv, kv];
    };
    tf.tidy(() => layer.apply(inputs(x)) as tf.Tensor);
    const tensors = tf.memory().numTensors;
    const results = tf.tidy(() => {
      const loss = (xv: tf.Tensor): tf.Scalar => (layer.apply(inputs(xv)) as tf.Tensor).mul(weightsOut).sum();
      const y = layer.apply(inputs(x)) as tf.Tensor;
      const dx = tf.grad(loss)(x);
      const { grads } = tf.variableGrads(() => loss(x), layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
      return [y, dx, ...Object.values(grads)];
    });
    const values = results.map((t) => t.dataSync() as Float32Array);
    tf.dispose(results);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([x, mask, weightsOut]);
    layer.dispose();
    return values;
  }

  it.each(selfCases)('self-attention on one qkv product, $name: output and all gradients match the cpu path', async (c) => {
    const expected = await selfOutputsAndGrads('cpu', c);
    const actual = await selfOutputsAndGrads('wasm', c);
    expect(actual).toHaveLength(2 + (c.useBias === false ? 4 : 8));
    actual.forEach((a, i) => {
      const scale = Math.max(1, ...Array.from(expected[i]).map(Math.abs));
      expect(maxAbsDiff(tf.tensor(a), tf.tensor(expected[i])) / scale).toBeLessThan(1e-4);
    });
  });

  it('self-attention projects q, k and v in one matmul forward and backward', async () => {
    await tf.setBackend('wasm');
    const layer = new MultiHeadAttention({ numHeads: 2, keyDim: 3, seed: 5 });
    const x = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 9);
    const other = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 10);
    layer.apply([x, x, x]);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const kernelsOf = async (kv: tf.Tensor): Promise<string[]> =>
      (
        await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => (layer.apply([x, kv, kv]) as tf.Tensor).sum(), vars);
          tf.dispose([value, ...Object.values(grads)]);
        })
      ).kernels.map((k) => k.name);
    const matmuls = (names: string[]): number => names.filter((n) => n === '_FusedMatMul' || n === 'BatchMatMul').length;
    const self = await kernelsOf(x);
    const cross = await kernelsOf(other);
    expect(self).toContain('TfleetAttentionGrad');
    // Forward: the qkv and output projections; backward: an input and a weight gradient for
    // each (tfjs' matmul gradient computes both). Separate projections: four, then eight.
    expect(matmuls(self)).toBe(2 + 4);
    expect(matmuls(cross)).toBe(4 + 8);
    tf.dispose([x, other]);
    layer.dispose();
  });

  it('runs the per-head core as one kernel (no head transposes) and keeps dropout on the batched path', async () => {
    await tf.setBackend('wasm');
    const layer = new MultiHeadAttention({ numHeads: 2, keyDim: 3, dropout: 0.5, seed: 5 });
    const x = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 9);
    layer.apply([x, x]);
    const kernelsOf = async (training: boolean): Promise<string[]> =>
      (await tf.profile(() => (layer.apply([x, x], { training }) as tf.Tensor).dispose())).kernels.map((k) => k.name);
    const inference = await kernelsOf(false);
    expect(inference).toContain('TfleetAttention');
    expect(inference).not.toContain('Transpose');
    const training = await kernelsOf(true);
    expect(training).not.toContain('TfleetAttention');
    expect(training).toContain('Transpose');
    x.dispose();
    layer.dispose();
  });
});

import * as tf from '@tensorflow/tfjs';
import { ATTENTION, ATTENTION_GRAD } from '../backend/wasm-kernels/attention';
import { seededDropout } from './seeded-dropout';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = Array<number | null>;
/** tfjs does not export LayerVariable by name. */
export type LayerVariable = tf.layers.Layer['weights'][number];

/** Added to attention scores at masked positions; large enough that exp() underflows to 0. */
const MASKED_SCORE = -1e9;

export interface MultiHeadAttentionArgs extends LayerArgs {
  /** Number of attention heads. */
  numHeads: number;
  /** Size of each head's query and key projection. */
  keyDim: number;
  /** Size of each head's value projection. @defaultValue keyDim */
  valueDim?: number;
  /** Dropout rate on the attention probabilities while training. @defaultValue 0 */
  dropout?: number;
  /** Each query position t attends only to key positions <= t. @defaultValue false */
  causal?: boolean;
  /** Biases on the four projections. @defaultValue true */
  useBias?: boolean;
  /** Seed of the glorot-uniform kernel initialisers (each projection gets seed + i). */
  seed?: number;
}

function assertPositiveInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer (got ${String(value)})`);
  }
}

function assertRate(value: number, name: string): void {
  if (!(value >= 0 && value < 1)) throw new Error(`${name} must be in [0, 1) (got ${value})`);
}

function lastDim(shape: Shape, what: string): number {
  const d = shape[shape.length - 1];
  if (shape.length !== 3 || d == null) {
    throw new Error(`${what} must have shape [batch, time, features] with known features (got [${shape.join(', ')}])`);
  }
  return d;
}

function kernelInitializer(seed: number | undefined, offset: number): ReturnType<typeof tf.initializers.zeros> {
  return tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + offset });
}

/**
 * softmax(q·kᵀ + bias)·v per head on a backend's TfleetAttention kernels, with q, k, v and the
 * result in [B, T, heads * depth] layout; its gradient is TfleetAttentionGrad (the bias, a mask,
 * gets a zero gradient). q arrives already scaled.
 */
function attentionCore(numHeads: number, withBias: boolean): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [q, k, v, bias] = args.slice(0, -1) as tf.Tensor[];
    const [context, probs] = tf.engine().runKernel(ATTENTION, withBias ? { q, k, v, bias } : { q, k, v }, { numHeads }) as tf.Tensor[];
    save([q, k, v, probs]);
    return {
      value: context,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sq, sk, sv, sprobs] = saved;
        const grads = tf.engine().runKernel(ATTENTION_GRAD, { dy: dy as tf.Tensor, q: sq, k: sk, v: sv, probs: sprobs }, { numHeads }) as tf.Tensor[];
        return withBias ? [...grads, tf.zerosLike(bias)] : grads;
      },
    };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;
}

/**
 * The same core for self-attention, on one qkv [B, T, h*dk + h*dk + h*dv] tensor (the three
 * projections side by side, q already scaled); its gradient is one dqkv of the same layout.
 */
function packedAttentionCore(numHeads: number, keyDim: number, withBias: boolean): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [qkv, bias] = args.slice(0, -1) as tf.Tensor[];
    const attrs = { numHeads, keyDim };
    const [context, probs] = tf.engine().runKernel(ATTENTION, withBias ? { qkv, bias } : { qkv }, attrs) as tf.Tensor[];
    save([qkv, probs]);
    return {
      value: context,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sqkv, sprobs] = saved;
        const grads = tf.engine().runKernel(ATTENTION_GRAD, { dy: dy as tf.Tensor, qkv: sqkv, probs: sprobs }, attrs) as tf.Tensor[];
        return withBias ? [...grads, tf.zerosLike(bias)] : grads;
      },
    };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;
}

/** True when a and b hold the same values: one tensor, or two sharing one buffer (tf.clone). */
function sameData(a: tf.Tensor, b: tf.Tensor): boolean {
  return a === b || (a.dataId === b.dataId && a.dtype === b.dtype && tf.util.arraysEqual(a.shape, b.shape));
}

/**
 * Multi-head scaled dot-product attention (Vaswani et al.), owned by the project because tfjs
 * 4.22 does not export its own (tfjs#8574).
 *
 * Inputs, as a list: `[query, value]` (key = value), `[query, key, value]`, or
 * `[query, key, value, keyPaddingMask]`. query is [B, Tq, Dq], key and value are [B, Tk, Dk] and
 * [B, Tk, Dv]. keyPaddingMask is a float [B, Tk] tensor with 1 for real tokens and 0 for padding
 * (build it from token ids with {@link TokenPaddingMask}). Output: [B, Tq, Dq].
 *
 * All heavy work is 2-D matmuls (projections) and per-head products. On backends with the
 * TfleetAttention kernels (wasm) the per-head core runs there on the projections' layout (no
 * head transposes, one-pass softmax gradient); elsewhere, and with attention dropout while
 * training, it is batched matmuls over B*heads. Same weights and math either way.
 */
export class MultiHeadAttention extends tf.layers.Layer {
  static className = 'TfleetMultiHeadAttention';

  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly dropout: number;
  readonly causal: boolean;
  readonly useBias: boolean;
  readonly seed: number | undefined;

  private queryKernel?: LayerVariable;
  private keyKernel?: LayerVariable;
  private valueKernel?: LayerVariable;
  private outputKernel?: LayerVariable;
  private queryBias?: LayerVariable;
  private keyBias?: LayerVariable;
  private valueBias?: LayerVariable;
  private outputBias?: LayerVariable;
  private readonly causalMaskCache = new Map<string, Float32Array>();

  constructor(args: MultiHeadAttentionArgs) {
    super(args);
    assertPositiveInteger(args.numHeads, 'numHeads');
    assertPositiveInteger(args.keyDim, 'keyDim');
    if (args.valueDim !== undefined) assertPositiveInteger(args.valueDim, 'valueDim');
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.valueDim = args.valueDim ?? args.keyDim;
    this.dropout = args.dropout ?? 0;
    assertRate(this.dropout, 'dropout');
    this.causal = args.causal ?? false;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
  }

  /** offset < 0: zeros (biases); else a glorot-uniform kernel seeded with seed + offset. */
  private weightVariable(name: string, shape: number[], offset: number): LayerVariable {
    const init = offset < 0 ? tf.initializers.zeros() : kernelInitializer(this.seed, offset);
    return this.addWeight(name, shape, 'float32', init);
  }

  override build(inputShape: Shape | Shape[]): void {
    const shapes = this.splitShapes(inputShape);
    const dq = lastDim(shapes.query, 'query');
    const dk = lastDim(shapes.key, 'key');
    const dv = lastDim(shapes.value, 'value');
    const h = this.numHeads;
    this.queryKernel = this.weightVariable('query_kernel', [dq, h * this.keyDim], 0);
    this.keyKernel = this.weightVariable('key_kernel', [dk, h * this.keyDim], 1);
    this.valueKernel = this.weightVariable('value_kernel', [dv, h * this.valueDim], 2);
    this.outputKernel = this.weightVariable('output_kernel', [h * this.valueDim, dq], 3);
    if (this.useBias) {
      this.queryBias = this.weightVariable('query_bias', [h * this.keyDim], -1);
      this.keyBias = this.weightVariable('key_bias', [h * this.keyDim], -1);
      this.valueBias = this.weightVariable('value_bias', [h * this.valueDim], -1);
      this.outputBias = this.weightVariable('output_bias', [dq], -1);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return this.splitShapes(inputShape).query.slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const { query, key, value, paddingMask } = this.splitInputs(inputs);
      const training = kwargs['training'] === true;
      const [batch, tq, dq] = query.shape;
      const tk = key.shape[1];
      if (value.shape[1] !== tk || value.shape[0] !== batch || key.shape[0] !== batch) {
        throw new Error(
          `key and value must share batch and time with each other and batch with query (got query [${query.shape}], key [${key.shape}], value [${value.shape}])`,
        );
      }
      const h = this.numHeads;
      const bias = this.maskBias(batch, tq, tk, paddingMask);
      const dropping = training && this.dropout > 0;
      const backend = tf.getBackend();
      const fusedCore = !dropping && backend !== undefined && tf.getKernel(ATTENTION, backend) !== undefined;
      const outputBias = this.outputBias ? this.read(this.outputBias) : undefined;
      if (fusedCore && sameData(query, key) && sameData(query, value)) {
        // Self-attention: one [B*T, D] x [D, 3 * h*d] product for q, k and v, whose result the
        // core reads in place; the backward pass gets one dqkv, hence one input-gradient and one
        // weight-gradient matmul. 1/sqrt(dk) is folded into q's kernel and bias (D*h*dk values
        // scaled instead of B*T*h*dk). Only `query` is used: key and value hold the same values,
        // and the gradient w.r.t. that shared input is the same sum either way.
        const scale = 1 / Math.sqrt(this.keyDim);
        const kernel = tf.concat([this.read(this.queryKernel).mul(scale), this.read(this.keyKernel), this.read(this.valueKernel)], 1) as tf.Tensor2D;
        const projectionBias =
          this.queryBias && this.keyBias && this.valueBias ? tf.concat([this.read(this.queryBias).mul(scale), this.read(this.keyBias), this.read(this.valueBias)]) : undefined;
        const qkv = tf.fused.matMul({ a: query.reshape([batch * tq, dq]) as tf.Tensor2D, b: kernel, bias: projectionBias }).reshape([batch, tq, -1]);
        const core = packedAttentionCore(h, this.keyDim, bias !== null);
        const context = core(...(bias ? [qkv, bias] : [qkv])).reshape([batch * tq, h * this.valueDim]) as tf.Tensor2D;
        return tf.fused.matMul({ a: context, b: this.read(this.outputKernel) as tf.Tensor2D, bias: outputBias }).reshape([batch, tq, dq]);
      }
      // Scaling q before the score matmul touches Tq*dk values instead of Tq*Tk.
      const qProjected = this.project(query, this.queryKernel, this.queryBias).mul(1 / Math.sqrt(this.keyDim)) as tf.Tensor2D;
      const kProjected = this.project(key, this.keyKernel, this.keyBias);
      const vProjected = this.project(value, this.valueKernel, this.valueBias);
      let context: tf.Tensor2D; // [B*Tq, h*dv]
      if (fusedCore) {
        // The backend's fused core works on the projections' [B, T, h*d] layout directly.
        const core = attentionCore(h, bias !== null);
        const inputs = [qProjected.reshape([batch, tq, -1]), kProjected.reshape([batch, tk, -1]), vProjected.reshape([batch, tk, -1])];
        context = core(...(bias ? [...inputs, bias] : inputs)).reshape([batch * tq, h * this.valueDim]);
      } else {
        const q = this.splitHeads(qProjected, batch, tq, this.keyDim);
        const k = this.splitHeads(kProjected, batch, tk, this.keyDim);
        const v = this.splitHeads(vProjected, batch, tk, this.valueDim);
        let scores: tf.Tensor = tf.matMul(q, k, false, true); // [B*h, Tq, Tk]
        if (bias) scores = scores.reshape([batch, h, tq, tk]).add(bias);
        let probs = tf.softmax(scores).reshape([batch * h, tq, tk]) as tf.Tensor3D;
        // [B*h, Tq, Tk], sample-major: each sample's heads take that sample's mask stream.
        if (dropping) probs = seededDropout(probs, this.dropout) as tf.Tensor3D;
        context = tf
          .matMul(probs, v) // [B*h, Tq, dv]
          .reshape([batch, h, tq, this.valueDim])
          .transpose([0, 2, 1, 3])
          .reshape([batch * tq, h * this.valueDim]);
      }
      return tf.fused.matMul({ a: context, b: this.read(this.outputKernel) as tf.Tensor2D, bias: outputBias }).reshape([batch, tq, dq]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropout,
      causal: this.causal,
      useBias: this.useBias,
    };
    if (this.seed !== undefined) config['seed'] = this.seed;
    return { ...super.getConfig(), ...config };
  }

  private read(variable: LayerVariable | undefined): tf.Tensor {
    if (!variable) throw new Error(`${this.name} used before build()`);
    return variable.read();
  }

  /** [B, T, D] -> [B*T, D] @ W + b: one 2-D matmul for all positions, the bias fused into it. */
  private project(x: tf.Tensor, kernel: LayerVariable | undefined, bias: LayerVariable | undefined): tf.Tensor2D {
    const [b, t, d] = x.shape;
    return tf.fused.matMul({ a: x.reshape([b * t, d]) as tf.Tensor2D, b: this.read(kernel) as tf.Tensor2D, bias: bias ? this.read(bias) : undefined }) as tf.Tensor2D;
  }

  /** [B*T, h*d] -> [B*h, T, d]. */
  private splitHeads(x: tf.Tensor2D, batch: number, time: number, depth: number): tf.Tensor3D {
    return x
      .reshape([batch, time, this.numHeads, depth])
      .transpose([0, 2, 1, 3])
      .reshape([batch * this.numHeads, time, depth]) as tf.Tensor3D;
  }

  /** Additive score bias broadcastable to [B, h, Tq, Tk], or null when nothing is masked. */
  private maskBias(batch: number, tq: number, tk: number, paddingMask: tf.Tensor | undefined): tf.Tensor | null {
    let bias: tf.Tensor | null = null;
    if (this.causal) bias = tf.tensor(this.causalBias(tq, tk), [1, 1, tq, tk]);
    if (paddingMask) {
      if (paddingMask.rank !== 2 || paddingMask.shape[0] !== batch || paddingMask.shape[1] !== tk) {
        throw new Error(`keyPaddingMask must have shape [${batch}, ${tk}] (got [${paddingMask.shape}])`);
      }
      const pad = tf.scalar(1).sub(paddingMask.toFloat()).mul(MASKED_SCORE).reshape([batch, 1, 1, tk]);
      bias = bias ? bias.add(pad) : pad;
    }
    return bias;
  }

  private causalBias(tq: number, tk: number): Float32Array {
    const cacheKey = `${tq}x${tk}`;
    let table = this.causalMaskCache.get(cacheKey);
    if (!table) {
      table = new Float32Array(tq * tk);
      for (let i = 0; i < tq; i++) for (let j = i + 1; j < tk; j++) table[i * tk + j] = MASKED_SCORE;
      this.causalMaskCache.set(cacheKey, table);
    }
    return table;
  }

  private splitShapes(inputShape: Shape | Shape[]): { query: Shape; key: Shape; value: Shape } {
    const shapes = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
    if (shapes.length < 2 || shapes.length > 4) {
      throw new Error(
        `${this.getClassName()} expects inputs [query, value], [query, key, value] or [query, key, value, keyPaddingMask] (got ${shapes.length} input(s))`,
      );
    }
    if (shapes.length === 2) return { query: shapes[0], key: shapes[1], value: shapes[1] };
    return { query: shapes[0], key: shapes[1], value: shapes[2] };
  }

  private splitInputs(inputs: tf.Tensor | tf.Tensor[]): {
    query: tf.Tensor3D;
    key: tf.Tensor3D;
    value: tf.Tensor3D;
    paddingMask?: tf.Tensor;
  } {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    this.splitShapes(list.map((t) => t.shape));
    for (const [i, t] of list.slice(0, Math.min(list.length, 3)).entries()) {
      if (t.rank !== 3) throw new Error(`${this.getClassName()} input ${i} must be rank 3 [batch, time, features] (got [${t.shape}])`);
    }
    if (list.length === 2) return { query: list[0] as tf.Tensor3D, key: list[1] as tf.Tensor3D, value: list[1] as tf.Tensor3D };
    return {
      query: list[0] as tf.Tensor3D,
      key: list[1] as tf.Tensor3D,
      value: list[2] as tf.Tensor3D,
      paddingMask: list[3],
    };
  }
}
tf.serialization.registerClass(MultiHeadAttention);

export interface PaddingMaskArgs extends LayerArgs {
  /** The token id that marks padding. @defaultValue 0 */
  padId?: number;
}

/**
 * Token ids [B, T] -> float mask [B, T], 1 where the id is not `padId`: the keyPaddingMask
 * input of {@link MultiHeadAttention}.
 */
export class TokenPaddingMask extends tf.layers.Layer {
  static className = 'TfleetTokenPaddingMask';
  readonly padId: number;

  constructor(args: PaddingMaskArgs = {}) {
    super(args);
    this.padId = args.padId ?? 0;
    if (!Number.isInteger(this.padId)) throw new Error(`padId must be an integer (got ${this.padId})`);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : (inputShape as Shape)).slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.notEqual(ids, tf.scalar(this.padId, ids.dtype)).toFloat();
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padId: this.padId };
  }
}
tf.serialization.registerClass(TokenPaddingMask);

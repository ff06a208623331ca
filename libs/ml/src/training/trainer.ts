import * as tf from '@tensorflow/tfjs';
import { float32Contents, overwritableFloat32Contents, readsSynchronously } from '../backend/tensor-contents';
import type { Collective } from '@tfleet/parallel';
import { type DropoutKey, withDropoutKey } from '../layers/seeded-dropout';

export interface TrainerOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** Loss of the local (micro-)batch; the trainer multiplies it by the step's `lossScale`. */
  loss: (output: tf.Tensor, target: tf.Tensor) => tf.Scalar;
  collective: Collective;
  /** Clip the reduced gradients to this global L2 norm. */
  clipNorm?: number;
}

export interface StepTimings {
  /** Forward and backward passes, gradient accumulation included. */
  computeMs: number;
  /** Flattening, the collective reduce and unflattening (0 on one rank). */
  allReduceMs: number;
  /** Clipping and the optimizer update. */
  applyMs: number;
}

/**
 * One data-parallel optimizer step: local gradients of `loss * lossScale`, summed across ranks,
 * optionally clipped, applied by every rank. With `lossScale = 1 / globalBatch` and a summed
 * per-sample loss the reduced gradient is the gradient of the global mean, whatever the split.
 */
export class Trainer {
  private readonly variables: tf.Variable[];
  private accumulated: tf.Tensor[] | null = null;
  private accumulatedLoss = 0;
  /** Losses not read yet: on a backend without synchronous reads (webgpu) they are read in `apply`. */
  private pendingLosses: tf.Tensor[] = [];
  private readonly timings: StepTimings = { computeMs: 0, allReduceMs: 0, applyMs: 0 };

  constructor(private readonly options: TrainerOptions) {
    this.variables = options.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  get parameterCount(): number {
    return this.variables.reduce((sum, v) => sum + v.size, 0);
  }

  /**
   * Computes and accumulates gradients of one micro-batch; returns its scaled local loss, or
   * NaN on a backend that cannot read synchronously (webgpu), where `apply` reads it. With
   * `dropout`, the model's dropout masks come from that key (see SeededDropout); without it,
   * tfjs' unseeded masks.
   */
  accumulate(inputs: tf.Tensor[], target: tf.Tensor, lossScale: number, dropout?: DropoutKey): number {
    const started = performance.now();
    const forward = (): tf.Scalar => {
      const output = this.options.model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tf.Tensor;
      return tf.mul(this.options.loss(output, target), lossScale) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(dropout === undefined ? forward : () => withDropoutKey(dropout, forward), this.variables);
    const ordered = this.variables.map((v) => grads[v.name]!);
    if (this.accumulated === null) {
      this.accumulated = ordered;
    } else {
      const previous = this.accumulated;
      this.accumulated = previous.map((g, i) => tf.add(g, ordered[i]!));
      tf.dispose(previous);
      tf.dispose(ordered);
    }
    if (!readsSynchronously()) {
      this.pendingLosses.push(value);
      this.timings.computeMs += performance.now() - started;
      return Number.NaN;
    }
    const loss = value.dataSync()[0]!;
    value.dispose();
    this.accumulatedLoss += loss;
    this.timings.computeMs += performance.now() - started;
    return loss;
  }

  /**
   * Reduces the accumulated gradients across ranks and applies them. `stop` is this rank's view
   * of a stop request; it travels with the gradients so that all ranks agree on when to stop
   * (each rank reading the shared flag on its own could see it a step apart and deadlock).
   */
  async apply(stop = false): Promise<{ loss: number; stop: boolean }> {
    const local = this.accumulated ?? this.variables.map((v) => tf.zerosLike(v));
    this.accumulated = null;
    await this.readPendingLosses();
    let grads = local;
    let loss = this.accumulatedLoss;
    this.accumulatedLoss = 0;
    let stopAgreed = stop;
    if (this.options.collective.worldSize > 1) {
      const started = performance.now();
      const count = this.parameterCount;
      // Empty until `read` runs: a failed all-reduce disposes every local gradient.
      let reduced: tf.Tensor[] = [];
      try {
        // webgpu: the gradients are read (asynchronously) before the collective asks for them.
        const host = readsSynchronously() ? null : await Promise.all(local.map(async (g) => (await g.data()) as Float32Array));
        await this.options.collective.allReduceSumVia(
          count + 2,
          (contribution) => this.writeFlat(contribution, host ?? local, loss, stop ? 1 : 0),
          (sum) => {
            loss = sum[count]!;
            stopAgreed = sum[count + 1]! > 0;
            reduced = this.tensorsFrom(sum, local);
          },
        );
      } finally {
        tf.dispose(local.filter((g, i) => reduced[i] !== g));
      }
      grads = reduced;
      this.timings.allReduceMs += performance.now() - started;
    }
    const started = performance.now();
    if (this.options.clipNorm !== undefined) grads = await clipByGlobalNorm(grads, this.options.clipNorm);
    const named: tf.NamedTensorMap = {};
    this.variables.forEach((v, i) => (named[v.name] = grads[i]!));
    this.options.optimizer.applyGradients(named);
    tf.dispose(grads);
    this.timings.applyMs += performance.now() - started;
    return { loss, stop: stopAgreed };
  }

  /** `accumulate` then `apply`: one step without gradient accumulation. */
  async step(inputs: tf.Tensor[], target: tf.Tensor, lossScale: number): Promise<number> {
    this.accumulate(inputs, target, lossScale);
    return (await this.apply()).loss;
  }

  /** Timings since the last call, summed over steps. */
  takeTimings(): StepTimings {
    const copy = { ...this.timings };
    this.timings.computeMs = this.timings.allReduceMs = this.timings.applyMs = 0;
    return copy;
  }

  /** Sums the losses `accumulate` could not read, in the order they came, as it would have. */
  private async readPendingLosses(): Promise<void> {
    const pending = this.pendingLosses;
    this.pendingLosses = [];
    try {
      for (const value of pending) this.accumulatedLoss += (await value.data())[0]!;
    } finally {
      tf.dispose(pending);
    }
  }

  /** Gradients in variable order (tensors, or their values already read), then the loss and the stop vote, into `flat`. */
  private writeFlat(flat: Float32Array, grads: ReadonlyArray<tf.Tensor | Float32Array>, loss: number, stopVote: number): void {
    let offset = 0;
    for (const g of grads) {
      const values = g instanceof Float32Array ? g : float32Contents(g);
      flat.set(values, offset);
      offset += values.length;
    }
    flat[offset] = loss;
    flat[offset + 1] = stopVote;
  }

  /**
   * One tensor per variable from the front of `flat` (copied: `flat` is the transport's). A local
   * gradient that nothing else shares is overwritten in place and returned (on wasm: no tensor
   * to create, no heap block to allocate, per variable and step); otherwise a new tensor.
   */
  private tensorsFrom(flat: Float32Array, local: tf.Tensor[]): tf.Tensor[] {
    let offset = 0;
    return this.variables.map((v, i) => {
      const values = flat.subarray(offset, offset + v.size);
      offset += v.size;
      const target = local[i]!;
      const view = overwritableFloat32Contents(target);
      if (view === null) return tf.tensor(values, v.shape, 'float32');
      view.set(values);
      return target;
    });
  }
}

/** Scales all gradients by min(1, clipNorm / globalNorm). Disposes its inputs when it scales. */
async function clipByGlobalNorm(grads: tf.Tensor[], clipNorm: number): Promise<tf.Tensor[]> {
  const normTensor = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))));
  const norm = (await normTensor.data())[0]!;
  normTensor.dispose();
  if (!(norm > clipNorm)) return grads;
  const scale = clipNorm / norm;
  const scaled = grads.map((g) => tf.mul(g, scale));
  tf.dispose(grads);
  return scaled;
}

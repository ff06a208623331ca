import * as tf from '@tensorflow/tfjs';
import type { CheckpointPayload, SerializedModel } from '@tfleet/contracts';

/** Saves a model to memory with `tf.io.withSaveHandler`: no files, ready for the database. */
export async function serializeModel(model: tf.LayersModel): Promise<SerializedModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved?.modelTopology || !saved.weightSpecs || saved.weightData === undefined) {
    throw new Error('model save produced no topology or weights');
  }
  const weights = new tf.io.CompositeArrayBuffer(saved.weightData).slice();
  return {
    modelTopology: saved.modelTopology as Record<string, unknown>,
    weightSpecs: saved.weightSpecs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype as 'float32' | 'int32' | 'bool' })),
    weightDataBase64: Buffer.from(weights).toString('base64'),
  };
}

/** Loads a serialised model back (custom layers must be registered first). */
export async function deserializeModel(serialized: SerializedModel): Promise<tf.LayersModel> {
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: serialized.modelTopology,
      weightSpecs: serialized.weightSpecs,
      weightData: base64ToArrayBuffer(serialized.weightDataBase64),
    }),
  );
}

/** A shape without its size-1 dimensions: two shapes equal under it hold the same values in the same row-major order. */
const withoutUnitDims = (shape: readonly number[]): string =>
  shape
    .filter((d) => d !== 1)
    .join('x');

/**
 * Restores saved weights into a model built from the same spec. Weights are matched by
 * position (layer names get per-process suffixes, so names differ between builds) and every
 * shape is checked. A saved weight whose shape differs from the model's only by size-1
 * dimensions is reshaped: 1-D CNN blocks are now built as one-column 2-D convolutions
 * (kernel [k, 1, in, out] where Conv1D had [k, in, out]), and checkpoints saved before that
 * change must still load for prediction, export and fine-tuning.
 */
export function restoreModelWeights(model: tf.LayersModel, serialized: SerializedModel): void {
  const tensors = decodeWeights(serialized.weightSpecs, serialized.weightDataBase64);
  const reshaped: tf.Tensor[] = [];
  try {
    const expected = model.weights;
    if (expected.length !== tensors.length) {
      throw new Error(`checkpoint has ${tensors.length} weights, the model ${expected.length}`);
    }
    const matched = expected.map((w, i) => {
      const saved = tensors[i]!;
      if (w.shape.join('x') === saved.shape.join('x')) return saved;
      if (withoutUnitDims(w.shape as number[]) !== withoutUnitDims(saved.shape)) {
        throw new Error(`checkpoint weight ${i} (${w.name}) has shape ${saved.shape.join('x')}, model expects ${w.shape.join('x')}`);
      }
      const view = saved.reshape(w.shape as number[]);
      reshaped.push(view);
      return view;
    });
    model.setWeights(matched);
  } finally {
    tf.dispose(tensors);
    tf.dispose(reshaped);
  }
}

export async function serializeOptimizer(optimizer: tf.Optimizer): Promise<NonNullable<CheckpointPayload['optimizer']>> {
  const named = await optimizer.getWeights();
  const arrays = await Promise.all(named.map((n) => n.tensor.data() as Promise<Float32Array>));
  // getWeights returns the optimizer's own variables plus a fresh scalar of its step count
  // (tfjs `saveIterations`): that one is ours to free.
  for (const n of named) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  const total = arrays.reduce((sum, a) => sum + a.length, 0);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const a of arrays) {
    flat.set(a, offset);
    offset += a.length;
  }
  return {
    weightSpecs: named.map((n) => ({ name: n.name, shape: [...n.tensor.shape] })),
    weightDataBase64: Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength).toString('base64'),
  };
}

export async function restoreOptimizer(optimizer: tf.Optimizer, saved: NonNullable<CheckpointPayload['optimizer']>): Promise<void> {
  const tensors = decodeWeights(
    saved.weightSpecs.map((s) => ({ ...s, dtype: 'float32' as const })),
    saved.weightDataBase64,
  );
  // setWeights keeps the tensors as its variables' initial values; the copies are ours to free.
  await optimizer.setWeights(saved.weightSpecs.map((s, i) => ({ name: s.name, tensor: tensors[i]! })));
  tf.dispose(tensors);
}

function decodeWeights(specs: readonly { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[], base64: string): tf.Tensor[] {
  const buffer = base64ToArrayBuffer(base64);
  let offset = 0;
  return specs.map((spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > buffer.byteLength) throw new Error(`checkpoint weight data too short for ${spec.name}`);
    const values = spec.dtype === 'float32' ? new Float32Array(buffer, offset, size) : new Int32Array(buffer, offset, size);
    offset += size * 4;
    return tf.tensor(values, spec.shape, spec.dtype === 'bool' ? 'int32' : spec.dtype);
  });
}

function base64ToArrayBuffer(base64: string): ArrayBuffer {
  const bytes = Buffer.from(base64, 'base64');
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools share and misalign memory.
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}

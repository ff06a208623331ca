import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { float32Contents, overwritableFloat32Contents } from './tensor-contents';

describe('tensor contents', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('on wasm: overwrites a tensor that owns its data in place, and refuses shared or non-float data', async () => {
    await initBackend('wasm');
    const before = tf.memory().numTensors;
    const owned = tf.tensor1d([1, 2, 3]);
    const view = overwritableFloat32Contents(owned);
    expect(view).not.toBeNull();
    view!.set([7, 8, 9]);
    expect(Array.from(owned.dataSync())).toEqual([7, 8, 9]);
    expect(Array.from(float32Contents(owned))).toEqual([7, 8, 9]);

    // A reshape shares the data: writing through either would change the other.
    const shared = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const reshaped = shared.reshape([4]);
    expect(overwritableFloat32Contents(shared)).toBeNull();
    expect(overwritableFloat32Contents(reshaped)).toBeNull();
    reshaped.dispose();
    // Once the reshape is gone the data is owned again.
    expect(overwritableFloat32Contents(shared)).not.toBeNull();

    const ints = tf.tensor1d([1, 2], 'int32');
    expect(overwritableFloat32Contents(ints)).toBeNull();
    tf.dispose([owned, shared, ints]);
    expect(overwritableFloat32Contents(owned)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('elsewhere: never overwrites (dataSync is a copy there)', async () => {
    await tf.setBackend('cpu');
    const t = tf.tensor1d([1, 2]);
    expect(overwritableFloat32Contents(t)).toBeNull();
    expect(Array.from(float32Contents(t))).toEqual([1, 2]);
    t.dispose();
  });
});

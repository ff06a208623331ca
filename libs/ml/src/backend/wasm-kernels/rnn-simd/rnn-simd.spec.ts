import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend';
import { compileWat } from '../simd/wat-compiler';
import { asWasmBackend } from '../wasm-internals';
import { RNN_KERNELS_WASM_BASE64 } from './rnn-kernels-wasm';
import { RNN_GENERATED_FILE_NAME, RNN_WAT_FILE_NAME, rnnGeneratedModuleSource, rnnSimdSourceDir } from './generate';
import { rnnKernels } from './index';

// The kernels' numerics are tested against tfjs-layers' LSTM and GRU (cpu and wasm) through
// the fused recurrent layers that use them (layers/fused-recurrent.spec.ts, the "SIMD gates" cases).

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

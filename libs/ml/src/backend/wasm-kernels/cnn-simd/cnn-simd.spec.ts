import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend';
import { compileWat } from '../simd/wat-compiler';
import { asWasmBackend } from '../wasm-internals';
import { CNN_KERNELS_WASM_BASE64 } from './cnn-kernels-wasm';
import { CNN_GENERATED_FILE_NAME, CNN_WAT_FILE_NAME, cnnGeneratedModuleSource, cnnSimdSourceDir } from './generate';
import { cnnKernels } from './index';

// The kernels' numerics are tested against the cpu backend through the wasm kernels that use
// them (wasm-kernels.spec.ts: MaxPoolGrad, Conv2DBackpropFilter, Conv2DBackpropInput).

describe('cnn SIMD kernel module', () => {
  it('the committed bytes are a fresh compile of cnn-kernels.wat (run cnn-simd/generate after editing it)', async () => {
    const dir = cnnSimdSourceDir();
    const bytes = await compileWat(fs.readFileSync(path.join(dir, CNN_WAT_FILE_NAME), 'utf8'), CNN_WAT_FILE_NAME);
    expect(Buffer.from(bytes).toString('base64')).toBe(CNN_KERNELS_WASM_BASE64);
    expect(fs.readFileSync(path.join(dir, CNN_GENERATED_FILE_NAME), 'utf8')).toBe(cnnGeneratedModuleSource(bytes));
  });

  it('instantiates once per backend on the backend heap, and im2col then col2im_add multiplies each pixel by its patch count', async () => {
    await initBackend('wasm');
    const backend = asWasmBackend(tf.backend());
    const kernels = cnnKernels(backend);
    expect(cnnKernels(backend)).toBe(kernels);
    // 1 image 3x3x2, 2x2 filter, stride 1, valid: 4 patches; the centre pixel is in all four.
    const x = tf.tensor4d(Array.from({ length: 18 }, (_, i) => i + 1), [1, 3, 3, 2]);
    const cols = tf.zeros([4, 8]);
    const back = tf.zeros([1, 3, 3, 2]);
    const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
    kernels.im2col(at(x), at(cols), 1, 3, 3, 2, 2, 2, 2, 2, 1, 1, 0, 0);
    expect(Array.from(cols.dataSync().slice(0, 8))).toEqual([1, 2, 3, 4, 7, 8, 9, 10]);
    kernels.col2im_add(at(cols), at(back), 1, 3, 3, 2, 2, 2, 2, 2, 1, 1, 0, 0);
    const counts = [1, 2, 1, 2, 4, 2, 1, 2, 1];
    expect(Array.from(back.dataSync())).toEqual(Array.from({ length: 18 }, (_, i) => (i + 1) * counts[i >> 1]));
    tf.dispose([x, cols, back]);
    await tf.setBackend('cpu');
  });
});

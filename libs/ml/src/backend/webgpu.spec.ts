import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, initBackend } from './backend';
import { activeWebGpuAdapter, webgpuBufferCounts, webgpuEnv } from './webgpu';
import { probeWebGpu } from './webgpu-probe';

/*
 * Runs on whatever this machine has. In CI (no GPU) that is Mesa's llvmpipe through Dawn's
 * OpenGL ES backend, which .ci/run installs: when it is missing these tests fail with the
 * reason, they do not skip.
 */
const SOFTWARE = { ...process.env, TFLEET_WEBGPU_ALLOW_SOFTWARE: '1' };

describe('webgpu backend selection', () => {
  it('validates the webgpu variables of a rank environment', () => {
    expect(webgpuEnv({})).toEqual({ allowSoftware: false, adapterIndex: 0 });
    expect(webgpuEnv({ TFLEET_WEBGPU_ALLOW_SOFTWARE: '1', TFLEET_WEBGPU_ADAPTER_INDEX: '3' })).toEqual({ allowSoftware: true, adapterIndex: 3 });
    expect(() => webgpuEnv({ TFLEET_WEBGPU_ADAPTER_INDEX: '-1' })).toThrow(/TFLEET_WEBGPU_ADAPTER_INDEX/);
    expect(() => webgpuEnv({ TFLEET_WEBGPU_ALLOW_SOFTWARE: 'yes' })).toThrow(/TFLEET_WEBGPU_ALLOW_SOFTWARE/);
  });

  it('without a hardware adapter, webgpu is unavailable unless software adapters are allowed, and the error names what is missing', async () => {
    const probe = probeWebGpu();
    if (probe.hardwareCandidate) return; // a GPU machine: covered by the parity tests below
    const attempt = initBackend('webgpu', { env: { ...process.env, TFLEET_WEBGPU_ALLOW_SOFTWARE: '0' } });
    await expect(attempt).rejects.toThrow(BackendUnavailableError);
    await expect(initBackend('webgpu', { env: { ...process.env, TFLEET_WEBGPU_ALLOW_SOFTWARE: '0' } })).rejects.toThrow(
      new RegExp(`no WebGPU adapter: .*${escape(probe.missing[0])}.*TFLEET_WEBGPU_ALLOW_SOFTWARE=1`),
    );
    expect(activeWebGpuAdapter()).toBeNull();
  });

  it('auto does not open Dawn when the probe finds no hardware adapter', async () => {
    const probe = probeWebGpu();
    if (probe.hardwareCandidate) return;
    const asked: string[] = [];
    const loadModule = (name: string): unknown => {
      asked.push(name);
      throw new Error(`Cannot find module '${name}'`);
    };
    const info = await initBackend('auto', { loadModule, env: { ...process.env } });
    expect(info.backend).toBe('wasm');
    expect(asked).not.toContain('@tensorflow/tfjs-backend-webgpu');
    expect(activeWebGpuAdapter()).toBeNull();
  });

  it('with TFLEET_WEBGPU_ALLOW_SOFTWARE=1 opens an adapter, records it as the device, and computes what cpu computes', async () => {
    const info = await initBackend('webgpu', { env: SOFTWARE });
    expect(info.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.adapter).toBeDefined();
    const adapter = info.adapter!;
    expect(adapter.api).toMatch(/^(vulkan|metal|d3d12|opengles)$/);
    expect(info.device).toContain(adapter.device);
    expect(info.device).toMatch(/vendor .*architecture .*description .*api /);
    if (adapter.api === 'opengles') expect(adapter.software).toBe(true);

    const a = tf.randomNormal([64, 48], 0, 1, 'float32', 1);
    const b = tf.randomNormal([48, 32], 0, 1, 'float32', 2);
    const onGpu = await tf.matMul(a, b).data();
    const [av, bv] = [await a.data(), await b.data()];
    tf.dispose([a, b]);
    await tf.setBackend('cpu');
    const expected = tf.matMul(tf.tensor2d(av, [64, 48]), tf.tensor2d(bv, [48, 32])).dataSync();
    let worst = 0;
    expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - onGpu[i]))));
    expect(worst).toBeLessThan(1e-4);
    await tf.setBackend('webgpu');
  });

  it('transposes int32, bool and relabelled-float tensors exactly (tfjs-backend-webgpu WGSL fix)', async () => {
    await initBackend('webgpu', { env: SOFTWARE });
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = settledBuffers();
    const values = Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => (i * 7919) % 1000);
    const cases: Array<[tf.DataType, number[]]> = [
      ['int32', [1, 0, 2, 3]],
      ['int32', [3, 1, 2, 0]],
      ['bool', [2, 0, 1, 3]],
    ];
    for (const [dtype, perm] of cases) {
      const x = tf.tensor(values.map((v) => (dtype === 'bool' ? v % 2 : v)), [2, 3, 4, 5], dtype);
      const relabelled = tf.cast(x, 'float32');
      const [moved, movedFloat] = [tf.transpose(x, perm), tf.transpose(relabelled, perm)];
      const got = await moved.data();
      const gotFloat = await movedFloat.data();
      tf.dispose([moved, movedFloat]);
      await tf.setBackend('cpu');
      const want = tf.tidy(() => tf.transpose(tf.tensor(values.map((v) => (dtype === 'bool' ? v % 2 : v)), [2, 3, 4, 5], dtype), perm).dataSync());
      await tf.setBackend('webgpu');
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(Array.from(gotFloat)).toEqual(Array.from(want));
      tf.dispose([x, relabelled]);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(settledBuffers()).toBe(buffersBefore);
  });
});

function settledBuffers(): number {
  const t = tf.scalar(0);
  t.dataSync();
  t.dispose();
  return webgpuBufferCounts().usedBuffers;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

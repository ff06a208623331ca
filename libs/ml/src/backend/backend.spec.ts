import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, describeDevice, initBackend, isNativeBackend, nativeRankEnv, NATIVE_PACKAGES, needsRankProcesses } from './backend';
import { activeWasmGemmEngine } from './wasm-kernels';

/**
 * The native addons cannot be installed here, so tests simulate them: a fake "addon" registers
 * a 'tensorflow' backend (a cpu backend, optionally flagged as using a GPU, as tfjs-node-gpu's
 * backend is) the way the real package does on import.
 */
function fakeAddons(available: { gpuPackage?: 'gpu' | 'no-gpu'; cpuPackage?: boolean }) {
  const loaded: string[] = [];
  const loadModule = (name: string): unknown => {
    if (name === NATIVE_PACKAGES['tensorflow-gpu'] && available.gpuPackage) {
      registerFakeNative(available.gpuPackage === 'gpu');
    } else if (name === NATIVE_PACKAGES.tensorflow && available.cpuPackage) {
      registerFakeNative(false);
    } else {
      throw new Error(`Cannot find module '${name}'`);
    }
    loaded.push(name);
    return {};
  };
  return { loadModule, loaded };
}

function registerFakeNative(onGpu: boolean): void {
  const cpuFactory = tf.findBackendFactory('cpu');
  if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
  tf.registerBackend('tensorflow', () => Object.assign(cpuFactory() as tf.KernelBackend, { isUsingGpuDevice: onGpu }));
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (!tf.getKernel(kernel.kernelName, 'tensorflow')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
  }
}

afterEach(async () => {
  if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
  await tf.setBackend('cpu');
});

describe('initBackend', () => {
  it('auto picks tfjs-node-gpu when it loads and sees a GPU, and sets the TensorFlow env first', async () => {
    const env: NodeJS.ProcessEnv = {};
    const addons = fakeAddons({ gpuPackage: 'gpu', cpuPackage: true });
    const info = await initBackend('auto', { loadModule: addons.loadModule, env, intraOpThreads: 2, gpuIndex: 1 });
    expect(info.backend).toBe('tensorflow-gpu');
    expect(info.device).toBe('GPU (libtensorflow CUDA, CUDA_VISIBLE_DEVICES=1)');
    expect(addons.loaded).toEqual([NATIVE_PACKAGES['tensorflow-gpu']]);
    expect(env).toMatchObject({ TF_FORCE_GPU_ALLOW_GROWTH: 'true', TF_NUM_INTRAOP_THREADS: '2', TF_NUM_INTEROP_THREADS: '1', CUDA_VISIBLE_DEVICES: '1' });
    expect(tf.getBackend()).toBe('tensorflow');
    expect(describeDevice()).toBe(info.device);
  });

  it('auto records a GPU package that silently fell back to the CPU as tensorflow on cpu', async () => {
    const addons = fakeAddons({ gpuPackage: 'no-gpu', cpuPackage: true });
    const info = await initBackend('auto', { loadModule: addons.loadModule, env: {} });
    expect(info.backend).toBe('tensorflow');
    expect(info.device).toMatch(/^cpu \(libtensorflow via @tensorflow\/tfjs-node-gpu.*no GPU found\)$/);
    // A second native addon is never loaded into the same process.
    expect(addons.loaded).toEqual([NATIVE_PACKAGES['tensorflow-gpu']]);
  });

  it('auto falls back to tfjs-node, then to wasm when no addon loads', async () => {
    const cpuOnly = fakeAddons({ cpuPackage: true });
    expect(await initBackend('auto', { loadModule: cpuOnly.loadModule, env: {} })).toMatchObject({ backend: 'tensorflow', tfjsVersion: '4.22.0' });
    tf.removeBackend('tensorflow');
    const none = fakeAddons({});
    const info = await initBackend('auto', { loadModule: none.loadModule, env: {} });
    // The device names the native GEMM where it is active (native-gemm.spec checks where that is).
    const gemm = activeWasmGemmEngine() === 'native-avx2' ? ', native AVX2 GEMM' : '';
    expect(info).toEqual({ backend: 'wasm', device: `cpu (wasm simd${gemm}, 1 thread)`, tfjsVersion: '4.22.0' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('auto with allowNative=false never touches an addon (worker-thread ranks)', async () => {
    const addons = fakeAddons({ gpuPackage: 'gpu', cpuPackage: true });
    const info = await initBackend('auto', { loadModule: addons.loadModule, env: {}, allowNative: false });
    expect(info.backend).toBe('wasm');
    expect(addons.loaded).toEqual([]);
  });

  it('an explicit native request that cannot load throws BackendUnavailableError, never runs elsewhere', async () => {
    const none = fakeAddons({});
    await expect(initBackend('tensorflow', { loadModule: none.loadModule, env: {} })).rejects.toThrow(BackendUnavailableError);
    await expect(initBackend('tensorflow-gpu', { loadModule: none.loadModule, env: {} })).rejects.toThrow(
      /backend 'tensorflow-gpu' is unavailable on this worker: @tensorflow\/tfjs-node-gpu did not load \(Cannot find module/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });

  it('an explicit tensorflow-gpu request on a GPU-less machine fails instead of using the CPU fallback', async () => {
    const addons = fakeAddons({ gpuPackage: 'no-gpu' });
    await expect(initBackend('tensorflow-gpu', { loadModule: addons.loadModule, env: {} })).rejects.toThrow(/found no usable GPU/);
  });

  it('really loads (or cleanly reports missing) the installed native addons', async () => {
    // tfjs-node is an optional dependency that cannot install here; whatever the machine has,
    // the result is either a loaded native backend or a BackendUnavailableError.
    const result: Error | { backend: string } = await initBackend('tensorflow', { env: {} }).catch((error: Error) => error);
    if (result instanceof Error) {
      expect(result).toBeInstanceOf(BackendUnavailableError);
      expect(result.message).toMatch(/@tensorflow\/tfjs-node did not load/);
    } else {
      expect(result.backend).toBe('tensorflow');
    }
  });

  it('wasm and cpu requests activate those backends', async () => {
    expect(await initBackend('wasm')).toMatchObject({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(await initBackend('cpu')).toEqual({ backend: 'cpu', device: 'cpu (pure JavaScript)', tfjsVersion: '4.22.0' });
    expect(describeDevice()).toBe('cpu (pure JavaScript)');
  });

  it('validates its inputs', async () => {
    await expect(initBackend('gpu' as never)).rejects.toThrow(/backend must be one of auto, webgpu, tensorflow-gpu, tensorflow, wasm, cpu/);
    await expect(initBackend('auto', { intraOpThreads: 0 })).rejects.toThrow(/intraOpThreads must be a positive integer/);
  });
});

describe('helpers', () => {
  it('isNativeBackend', () => {
    expect(['tensorflow', 'tensorflow-gpu', 'wasm', 'cpu', 'webgpu'].map(isNativeBackend)).toEqual([true, true, false, false, false]);
    expect(['tensorflow', 'tensorflow-gpu', 'wasm', 'cpu', 'webgpu'].map(needsRankProcesses)).toEqual([true, true, false, false, true]);
  });

  it('nativeRankEnv sizes thread pools and pins a GPU per rank', () => {
    expect(nativeRankEnv({ intraOpThreads: 3, gpuIndex: 2 })).toEqual({
      TF_FORCE_GPU_ALLOW_GROWTH: 'true',
      TF_NUM_INTRAOP_THREADS: '3',
      TF_NUM_INTEROP_THREADS: '1',
      CUDA_VISIBLE_DEVICES: '2',
    });
    expect(() => nativeRankEnv({ gpuIndex: -1 })).toThrow(/gpuIndex must be a non-negative integer/);
  });
});

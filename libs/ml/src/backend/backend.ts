import * as tf from '@tensorflow/tfjs';
import type { BackendName, BackendRequest } from '@tfleet/contracts';
import { BACKEND_NAMES } from '@tfleet/contracts';
import { registerFastGradients } from './gradients/tile-grad';
import { activeWasmGemmEngine, loadWasmBackendPackage, registerWasmKernels } from './wasm-kernels';
import { activateWebGpu, type WebGpuAdapterRecord } from './webgpu';
import { probeWebGpu } from './webgpu-probe';

/** What actually loaded: recorded with every experiment (not what was asked for). */
export interface BackendInfo {
  backend: BackendName;
  /** e.g. 'cpu (wasm simd, 1 thread)', 'GPU (libtensorflow CUDA, CUDA_VISIBLE_DEVICES=1)'. */
  device: string;
  tfjsVersion: string;
  /** webgpu: the adapter the run used (also spelled out in `device`). */
  adapter?: WebGpuAdapterRecord;
}

export interface BackendOptions {
  /** TensorFlow intra-op threads for a native backend (per rank process). @defaultValue 1 */
  intraOpThreads?: number;
  /** TensorFlow inter-op threads for a native backend (per rank process). @defaultValue 1 */
  interOpThreads?: number;
  /** Sets CUDA_VISIBLE_DEVICES (when not already set) before tfjs-node-gpu loads. */
  gpuIndex?: number;
  /**
   * `auto` may pick a native addon. Pass false in worker-thread ranks: tfjs-node loads in only
   * one thread per process (tfjs#8388), so thread ranks must run on wasm. @defaultValue true
   */
  allowNative?: boolean;
  /** Environment written before a native addon loads. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** webgpu: accept a software adapter (TFLEET_WEBGPU_ALLOW_SOFTWARE). @defaultValue read from `env` */
  webgpuAllowSoftware?: boolean;
  /** Loads a module by name; tests substitute it to simulate absent or GPU-less addons. */
  loadModule?: (name: string) => unknown;
}

/** A backend asked for explicitly cannot run here; the job must fail, not run elsewhere. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly requested: BackendRequest,
    reason: string,
  ) {
    super(`backend '${requested}' is unavailable on this worker: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

export const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

/** The native addons register their backend under this tfjs name (both of them). */
const NATIVE_TFJS_BACKEND = 'tensorflow';

export function isNativeBackend(name: string): name is 'tensorflow' | 'tensorflow-gpu' {
  return name === 'tensorflow' || name === 'tensorflow-gpu';
}

/** Backends whose ranks run as child processes: native addons, and Dawn (one GPU device per process). */
export function needsRankProcesses(name: string): boolean {
  return isNativeBackend(name) || name === 'webgpu';
}

let current: BackendInfo | null = null;

/**
 * Chooses, loads and activates the tfjs backend for this thread. `auto`: a hardware WebGPU
 * adapter (processes only, see `allowNative`), else tfjs-node-gpu when
 * it loads and sees a GPU, else tfjs-node (or tfjs-node-gpu running on its CPU) when it loads,
 * else wasm. An explicit request that cannot be served throws {@link BackendUnavailableError}.
 * For wasm it registers the project's training kernels first; each worker thread has its own
 * tfjs engine, so every thread calls this.
 */
export async function initBackend(request: BackendRequest, options: BackendOptions = {}): Promise<BackendInfo> {
  if (request !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(request)) {
    throw new Error(`backend must be one of auto, ${BACKEND_NAMES.join(', ')} (got '${String(request)}')`);
  }
  const opts = resolveOptions(options);
  registerFastGradients();
  let info: BackendInfo;
  switch (request) {
    case 'cpu':
      info = await activateCpu();
      break;
    case 'wasm':
      info = await activateWasm(request);
      break;
    case 'tensorflow':
    case 'tensorflow-gpu': {
      const native = await loadNative(request, opts);
      if (!native.ok) throw new BackendUnavailableError(request, native.reason);
      info = native.info;
      break;
    }
    case 'webgpu': {
      const gpu = await activateWebGpu({ env: opts.env, loadModule: opts.loadModule, ...(options.webgpuAllowSoftware !== undefined ? { allowSoftware: options.webgpuAllowSoftware } : {}) });
      if (!gpu.ok) throw new BackendUnavailableError(request, gpu.reason);
      info = { backend: 'webgpu', device: gpu.device, tfjsVersion: tfjsVersion(), adapter: gpu.adapter };
      break;
    }
    case 'auto':
      info = await autoSelect(opts);
      break;
  }
  current = info;
  return info;
}

/** The device of the active backend, as recorded by the last {@link initBackend}. */
export function describeDevice(): string {
  const active = tf.getBackend();
  if (current && tfjsNameOf(current.backend) === active) return current.device;
  return active === 'wasm' ? 'cpu (wasm)' : active === 'cpu' ? 'cpu (pure JavaScript)' : `${active ?? 'none'}`;
}

/**
 * Environment for one native-backend rank process: TensorFlow's thread pools sized per rank,
 * growth-only GPU memory, and (with a GPU per rank) the GPU that rank may see.
 */
export function nativeRankEnv(options: { intraOpThreads?: number; interOpThreads?: number; gpuIndex?: number } = {}): Record<string, string> {
  const intra = options.intraOpThreads ?? 1;
  const inter = options.interOpThreads ?? 1;
  assertPositiveInt(intra, 'intraOpThreads');
  assertPositiveInt(inter, 'interOpThreads');
  const env: Record<string, string> = {
    TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    TF_NUM_INTRAOP_THREADS: String(intra),
    TF_NUM_INTEROP_THREADS: String(inter),
  };
  if (options.gpuIndex !== undefined) {
    if (!Number.isInteger(options.gpuIndex) || options.gpuIndex < 0) throw new Error(`gpuIndex must be a non-negative integer (got ${options.gpuIndex})`);
    env['CUDA_VISIBLE_DEVICES'] = String(options.gpuIndex);
  }
  return env;
}

type ResolvedOptions = Required<Pick<BackendOptions, 'intraOpThreads' | 'interOpThreads' | 'allowNative' | 'env' | 'loadModule'>> & { gpuIndex?: number };

function resolveOptions(options: BackendOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    intraOpThreads: options.intraOpThreads ?? 1,
    interOpThreads: options.interOpThreads ?? 1,
    allowNative: options.allowNative ?? true,
    env: options.env ?? process.env,
    loadModule: options.loadModule ?? ((name: string) => require(name) as unknown),
    gpuIndex: options.gpuIndex,
  };
  assertPositiveInt(resolved.intraOpThreads, 'intraOpThreads');
  assertPositiveInt(resolved.interOpThreads, 'interOpThreads');
  return resolved;
}

function assertPositiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer (got ${value})`);
}

function tfjsNameOf(backend: BackendName): string {
  return isNativeBackend(backend) ? NATIVE_TFJS_BACKEND : backend;
}

function tfjsVersion(): string {
  const versions = tf.version as Record<string, string | undefined>;
  const base = versions['tfjs'] ?? tf.version_core;
  const node = versions['tfjs-node'] ?? versions['tfjs-node-gpu'];
  return node && node !== base ? `${base} (tfjs-node ${node})` : base;
}

async function activateCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('cpu', 'tf.setBackend(cpu) failed');
  return { backend: 'cpu', device: 'cpu (pure JavaScript)', tfjsVersion: tfjsVersion() };
}

async function activateWasm(requested: BackendRequest): Promise<BackendInfo> {
  try {
    loadWasmBackendPackage();
    registerWasmKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend(wasm) returned false');
  } catch (error) {
    throw new BackendUnavailableError(requested, `@tensorflow/tfjs-backend-wasm did not initialise: ${errorText(error)}`);
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  // The GEMM is most of a step's time, and a native one about doubles it: name it in the device.
  const nativeGemm = activeWasmGemmEngine() === 'native-avx2' ? ', native AVX2 GEMM' : '';
  return { backend: 'wasm', device: `cpu (wasm${simd ? ' simd' : ''}${nativeGemm}, 1 thread)`, tfjsVersion: tfjsVersion() };
}

type NativeResult =
  | { ok: true; info: BackendInfo; onGpu: boolean }
  | { ok: false; loaded: boolean; reason: string };

/** TensorFlow reads these once, when the addon initialises, so they are set before loading. */
function setNativeEnv(opts: ResolvedOptions): void {
  opts.env['TF_FORCE_GPU_ALLOW_GROWTH'] = 'true';
  opts.env['TF_NUM_INTRAOP_THREADS'] = String(opts.intraOpThreads);
  opts.env['TF_NUM_INTEROP_THREADS'] = String(opts.interOpThreads);
  if (opts.gpuIndex !== undefined && opts.env['CUDA_VISIBLE_DEVICES'] === undefined) {
    opts.env['CUDA_VISIBLE_DEVICES'] = String(opts.gpuIndex);
  }
}

/**
 * Loads one native addon and activates its backend. The device is read back from the backend
 * rather than assumed: tfjs-node-gpu silently falls back to the CPU with only log warnings
 * (tfjs#8269).
 */
async function activateNative(pkg: string, opts: ResolvedOptions): Promise<NativeResult> {
  try {
    opts.loadModule(pkg);
  } catch (error) {
    return { ok: false, loaded: false, reason: `${pkg} did not load (${errorText(error)})` };
  }
  try {
    if (!(await tf.setBackend(NATIVE_TFJS_BACKEND))) throw new Error(`tf.setBackend('${NATIVE_TFJS_BACKEND}') returned false`);
  } catch (error) {
    return { ok: false, loaded: true, reason: `${pkg} loaded but its backend did not initialise (${errorText(error)})` };
  }
  const onGpu = (tf.backend() as { isUsingGpuDevice?: unknown }).isUsingGpuDevice === true;
  const visible = opts.env['CUDA_VISIBLE_DEVICES'];
  const threads = `${opts.intraOpThreads} intra-op / ${opts.interOpThreads} inter-op threads`;
  const device = onGpu
    ? `GPU (libtensorflow CUDA${visible !== undefined ? `, CUDA_VISIBLE_DEVICES=${visible}` : ''})`
    : `cpu (libtensorflow via ${pkg}, ${threads}${pkg === NATIVE_PACKAGES['tensorflow-gpu'] ? ', no GPU found' : ''})`;
  return { ok: true, onGpu, info: { backend: onGpu ? 'tensorflow-gpu' : 'tensorflow', device, tfjsVersion: tfjsVersion() } };
}

async function loadNative(kind: 'tensorflow' | 'tensorflow-gpu', opts: ResolvedOptions): Promise<{ ok: true; info: BackendInfo } | { ok: false; reason: string }> {
  setNativeEnv(opts);
  const result = await activateNative(NATIVE_PACKAGES[kind], opts);
  if (!result.ok) return result;
  if (kind === 'tensorflow-gpu' && !result.onGpu) {
    return {
      ok: false,
      reason: `${NATIVE_PACKAGES[kind]} loaded but TensorFlow found no usable GPU and would silently run on the CPU (check CUDA 11.2 / cuDNN 8.1 and CUDA_VISIBLE_DEVICES)`,
    };
  }
  if (kind === 'tensorflow' && result.onGpu) {
    return { ok: false, reason: `${NATIVE_PACKAGES[kind]} unexpectedly reports a GPU device` };
  }
  return result;
}

async function autoSelect(opts: ResolvedOptions): Promise<BackendInfo> {
  if (opts.allowNative) {
    // A hardware WebGPU adapter first. The probe only looks at files (no Dawn), so a machine
    // without a GPU does not pay Dawn's start-up; software adapters are never picked here.
    if (probeWebGpu(opts.env).hardwareCandidate) {
      const gpu = await activateWebGpu({ env: opts.env, loadModule: opts.loadModule, allowSoftware: false });
      if (gpu.ok) return { backend: 'webgpu', device: gpu.device, tfjsVersion: tfjsVersion(), adapter: gpu.adapter };
    }
    setNativeEnv(opts);
    // tfjs-node-gpu first. Without a GPU it still serves the CPU 'tensorflow' backend, and a
    // second native addon must not be loaded into the same process anyway.
    const gpu = await activateNative(NATIVE_PACKAGES['tensorflow-gpu'], opts);
    if (gpu.ok) return gpu.info;
    if (!gpu.loaded) {
      const cpu = await activateNative(NATIVE_PACKAGES.tensorflow, opts);
      if (cpu.ok) return cpu.info;
    }
  }
  return activateWasm('auto');
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

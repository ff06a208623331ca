import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { registerWebGpuKernels } from './webgpu-kernels';
import { dawnNodePath, probeWebGpu, type WebGpuProbe } from './webgpu-probe';

/*
 * The `webgpu` backend: @tensorflow/tfjs-backend-webgpu on Dawn's Node bindings (the `webgpu`
 * package, whose prebuilt dawn.node ships inside the package). Dawn drives the GPU through
 * Vulkan (Linux), Metal (macOS) or D3D12 (Windows). Without a GPU, CI gets an adapter from
 * Dawn's OpenGL ES backend on Mesa's llvmpipe; such a software adapter is used only when
 * TFLEET_WEBGPU_ALLOW_SOFTWARE=1.
 *
 * The package's `index.js` is an ES module (import.meta), which neither this CommonJS build
 * nor jest's module system can require, so dawn.node is loaded directly. tfjs-backend-webgpu
 * registers its own factory only when `navigator.gpu` exists at import; it is imported before
 * navigator.gpu is set and the backend is registered here with the adapter chosen here
 * (its own factory asks for an adapter without a feature level, which llvmpipe refuses).
 */

/** The part of Dawn's GPUAdapterInfo recorded with a run. */
export interface WebGpuAdapterRecord {
  /** Position among the hardware adapters of `api` (0 for the software adapter). */
  index: number;
  /** 'vulkan' | 'metal' | 'd3d12' for hardware; 'opengles' for the software path. */
  api: string;
  vendor: string;
  architecture: string;
  /** Dawn's device name, e.g. 'NVIDIA H100 80GB HBM3' or 'llvmpipe-llvm-15-0-6-256-bits-'. */
  device: string;
  /** The driver's description, e.g. 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6'. */
  description: string;
  software: boolean;
}

/** One adapter as Dawn lists it, before any is opened. */
export interface ListedAdapter {
  api: string;
  name: string;
  software: boolean;
}

export type WebGpuActivation =
  | { ok: true; adapter: WebGpuAdapterRecord; device: string }
  | { ok: false; reason: string; probe: WebGpuProbe };

export interface WebGpuOptions {
  env?: NodeJS.ProcessEnv;
  /** Loads a module by name (tests substitute it). */
  loadModule?: (name: string) => unknown;
  /** Overrides TFLEET_WEBGPU_ALLOW_SOFTWARE. */
  allowSoftware?: boolean;
  /** Skip the cheap probe's verdict and ask Dawn anyway (the GPU check does, to list adapters). */
  ignoreProbe?: boolean;
}

// --- Dawn's JS surface, as far as it is used here -------------------------------------------

interface DawnAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}
interface DawnDevice {
  readonly lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}
interface DawnAdapter {
  readonly info: DawnAdapterInfo;
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<string, number>>;
  readonly isFallbackAdapter?: boolean;
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<DawnDevice>;
}
interface DawnGpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power'; featureLevel?: 'core' | 'compatibility' }): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}
interface WebGpuBackendModule {
  WebGPUBackend: new (device: DawnDevice, adapterInfo?: DawnAdapterInfo) => tf.KernelBackend;
}

const dawnModuleSchema = z.object({ create: z.function(), globals: z.record(z.string(), z.unknown()) });

const envSchema = z.object({
  TFLEET_WEBGPU_ALLOW_SOFTWARE: z.enum(['0', '1']).optional(),
  TFLEET_WEBGPU_ADAPTER_INDEX: z.coerce.number().int().min(0).max(1_023).optional(),
});

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|null.backend|microsoft basic render/i;
/** A name no adapter has: Dawn then throws, listing the adapters it found. */
const LIST_SENTINEL = 'tfleet-list-adapters-\u0001';
const WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

let dawn: DawnModule | null = null;
let activeDevice: DawnDevice | null = null;
let activeAdapter: WebGpuAdapterRecord | null = null;
/** Hardware adapters Dawn listed when this process opened one (the rank placement uses it). */
let hardwareAdapterCount = 0;
/** The Dawn instance of the last adapter opened; exposed as navigator.gpu. */
let openedGpu: DawnGpu | null = null;

/** Reads the webgpu variables of a rank's environment (validated: this is a process boundary). */
export function webgpuEnv(env: NodeJS.ProcessEnv): { allowSoftware: boolean; adapterIndex: number } {
  const parsed = envSchema.safeParse({ TFLEET_WEBGPU_ALLOW_SOFTWARE: env['TFLEET_WEBGPU_ALLOW_SOFTWARE'] || undefined, TFLEET_WEBGPU_ADAPTER_INDEX: env['TFLEET_WEBGPU_ADAPTER_INDEX'] || undefined });
  if (!parsed.success) throw new Error(`invalid webgpu environment: ${z.prettifyError(parsed.error)}`);
  return { allowSoftware: parsed.data.TFLEET_WEBGPU_ALLOW_SOFTWARE === '1', adapterIndex: parsed.data.TFLEET_WEBGPU_ADAPTER_INDEX ?? 0 };
}

export function isSoftwareAdapterName(name: string): boolean {
  return SOFTWARE_ADAPTER.test(name);
}

function loadDawn(): DawnModule {
  if (dawn) return dawn;
  const file = dawnNodePath();
  if (!file) throw new Error("the 'webgpu' package (Dawn) is not installed for this platform");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded: unknown = require(file);
  const parsed = dawnModuleSchema.safeParse(loaded);
  if (!parsed.success) throw new Error(`${file} does not export create() and globals`);
  dawn = loaded as DawnModule;
  // GPUBufferUsage, GPUMapMode, GPUShaderStage... as in a browser; tfjs-backend-webgpu reads them.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  return dawn;
}

/** Sets globalThis.navigator.gpu (Node 20 has no navigator; Node 21+ has one without gpu). */
function exposeGpu(gpu: DawnGpu): void {
  const nav = (globalThis as { navigator?: Record<string, unknown> }).navigator;
  if (nav && Object.isExtensible(nav)) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu }, configurable: true, writable: true });
  }
}

/**
 * The adapters Dawn finds for one API, in its order, without opening any: Dawn throws with the
 * list when no adapter matches the name filter. Creating an instance costs tens of ms.
 */
export async function listAdapters(api: string): Promise<ListedAdapter[]> {
  const module = loadDawn();
  if (api === 'opengles') useSurfacelessEglWithoutDisplay(process.env);
  let message = '';
  try {
    const adapter = await module.create([`backend=${api}`, `adapter=${LIST_SENTINEL}`]).requestAdapter({ featureLevel: 'compatibility' });
    if (adapter) return [];
  } catch (error) {
    message = error instanceof Error ? error.message : String(error);
  }
  const adapters: ListedAdapter[] = [];
  for (const line of message.split('\n')) {
    const match = /\* backend: '([^']*)', name: '(.*)'\s*$/.exec(line);
    if (match) adapters.push({ api: match[1], name: match[2], software: isSoftwareAdapterName(match[2]) });
  }
  return adapters;
}

/**
 * Opens an adapter and a device and makes `webgpu` this thread's tfjs backend. Hardware first
 * (the `index`-th hardware adapter of the platform's API); a software adapter only when allowed.
 * Never throws for a missing piece: the reason comes back for BackendUnavailableError.
 */
export async function activateWebGpu(options: WebGpuOptions = {}): Promise<WebGpuActivation> {
  const env = options.env ?? process.env;
  const probe = probeWebGpu(env);
  let settings: { allowSoftware: boolean; adapterIndex: number };
  try {
    settings = webgpuEnv(env);
  } catch (error) {
    return { ok: false, reason: errorText(error), probe };
  }
  const allowSoftware = options.allowSoftware ?? settings.allowSoftware;
  if (!probe.dawnNode) return { ok: false, reason: `missing ${probe.missing.join('; ')}`, probe };
  if (activeAdapter && tf.findBackend('webgpu')) {
    if (activeAdapter.software && !allowSoftware) return { ok: false, reason: 'only a software adapter is open in this process', probe };
    if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: "tf.setBackend('webgpu') failed", probe };
    return { ok: true, adapter: activeAdapter, device: describeAdapter(activeAdapter) };
  }

  const problems: string[] = [];
  try {
    loadDawn();
  } catch (error) {
    return { ok: false, reason: `dawn.node did not load (${errorText(error)})`, probe };
  }
  let opened: { adapter: DawnAdapter; record: WebGpuAdapterRecord } | null = null;
  if (probe.api && (probe.hardwareCandidate || options.ignoreProbe)) {
    const result = await openHardware(probe.api, settings.adapterIndex);
    if ('reason' in result) problems.push(result.reason);
    else opened = result;
  } else {
    problems.push(`no hardware adapter possible: missing ${probe.missing.join('; ')}`);
  }
  if (!opened && allowSoftware) {
    const result = await openSoftware(env);
    if ('reason' in result) problems.push(result.reason);
    else opened = result;
  }
  if (!opened) {
    const hint = allowSoftware ? '' : ' (a software adapter is used only with TFLEET_WEBGPU_ALLOW_SOFTWARE=1, for tests)';
    return { ok: false, reason: `no WebGPU adapter: ${problems.join('; ')}${hint}`, probe };
  }
  try {
    await registerWebGpuBackend(opened.adapter, options.loadModule);
  } catch (error) {
    return { ok: false, reason: `${WEBGPU_PACKAGE} did not initialise on ${opened.record.device} (${errorText(error)})`, probe };
  }
  activeAdapter = opened.record;
  return { ok: true, adapter: opened.record, device: describeAdapter(opened.record) };
}

async function openHardware(api: string, index: number): Promise<{ adapter: DawnAdapter; record: WebGpuAdapterRecord } | { reason: string }> {
  const module = loadDawn();
  const listed = await listAdapters(api);
  const hardware = listed.filter((a) => !a.software);
  if (hardware.length === 0) {
    const seen = listed.length > 0 ? ` (only software: ${listed.map((a) => a.name).join(', ')})` : '';
    return { reason: `Dawn found no hardware ${api} adapter${seen}` };
  }
  if (index >= hardware.length) return { reason: `adapter index ${index} requested (TFLEET_WEBGPU_ADAPTER_INDEX) but Dawn lists ${hardware.length} hardware ${api} adapter(s)` };
  hardwareAdapterCount = hardware.length;
  const name = hardware[index].name;
  // dawn.node's `adapter=` flag picks the first adapter whose name contains the filter: with
  // several adapters of the same name only the first of them can be told apart.
  const first = hardware.findIndex((a) => a.name.toLowerCase().includes(name.toLowerCase()));
  if (first !== index) {
    return { reason: `adapter ${index} ('${name}') cannot be selected apart from adapter ${first} through dawn.node's name filter; run one worker per GPU (e.g. container device visibility) instead of TFLEET_WEBGPU_ADAPTER_INDEX` };
  }
  let adapter: DawnAdapter | null;
  try {
    openedGpu = module.create([`backend=${api}`, `adapter=${name}`]);
    adapter = await openedGpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { reason: `Dawn could not open ${api} adapter '${name}' (${errorText(error)})` };
  }
  if (!adapter) return { reason: `Dawn returned no ${api} adapter for '${name}'` };
  const record = recordOf(adapter, api, index);
  if (record.software) return { reason: `${api} adapter '${name}' is a software adapter` };
  return { adapter, record };
}

/** Dawn's OpenGL ES backend on Mesa (llvmpipe): the CI path; see the engineering notes. */
async function openSoftware(env: NodeJS.ProcessEnv): Promise<{ adapter: DawnAdapter; record: WebGpuAdapterRecord } | { reason: string }> {
  if (process.platform !== 'linux') return { reason: `no software adapter path on ${process.platform}` };
  useSurfacelessEglWithoutDisplay(env);
  let adapter: DawnAdapter | null;
  try {
    openedGpu = loadDawn().create(['backend=opengles']);
    adapter = await openedGpu.requestAdapter({ featureLevel: 'compatibility' });
  } catch (error) {
    return { reason: `Dawn's OpenGL ES backend failed (${errorText(error)})` };
  }
  if (!adapter) return { reason: "Dawn's OpenGL ES backend found no adapter (Mesa: apt-get install libegl1 libgles2 libgl1-mesa-dri libegl-mesa0)" };
  const record = recordOf(adapter, 'opengles', 0);
  return { adapter, record: { ...record, software: true } };
}

/** Without a display, Mesa's EGL must be told to use no window system (read when Dawn opens EGL). */
function useSurfacelessEglWithoutDisplay(env: NodeJS.ProcessEnv): void {
  if (!env['DISPLAY'] && !env['WAYLAND_DISPLAY'] && process.env['EGL_PLATFORM'] === undefined) process.env['EGL_PLATFORM'] = 'surfaceless';
}

function recordOf(adapter: DawnAdapter, api: string, index: number): WebGpuAdapterRecord {
  const info = adapter.info;
  const device = info.device ?? '';
  const description = info.description ?? '';
  const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true;
  return {
    index,
    api,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device,
    description,
    software: fallback || isSoftwareAdapterName(`${device} ${description}`),
  };
}

/** The run's device string: what the adapter is, all four facts and the API. */
export function describeAdapter(a: WebGpuAdapterRecord): string {
  const kind = a.software ? 'software adapter' : 'GPU';
  const facts = [`vendor ${a.vendor || '?'}`, `architecture ${a.architecture || '?'}`, `description ${a.description ? JSON.stringify(a.description) : '?'}`, `api ${a.api}`, `adapter ${a.index}`];
  return `${kind} (WebGPU/Dawn): ${a.device || 'unnamed adapter'} [${facts.join(', ')}]`;
}

async function registerWebGpuBackend(adapter: DawnAdapter, loadModule?: (name: string) => unknown): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = loadModule ?? ((name: string) => require(name) as unknown);
  // Imported before navigator.gpu exists, so the package does not register its own factory.
  const pkg = load(WEBGPU_PACKAGE) as Partial<WebGpuBackendModule>;
  if (typeof pkg.WebGPUBackend !== 'function') throw new Error(`${WEBGPU_PACKAGE} does not export WebGPUBackend`);
  registerWebGpuKernels();
  const limits = adapter.limits;
  const wanted = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
  const requiredLimits: Record<string, number> = {};
  for (const name of wanted) if (typeof limits[name] === 'number') requiredLimits[name] = limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  void device.lost.then((lost) => {
    if (activeDevice === device && lost.reason !== 'destroyed') console.error(`tfleet: WebGPU device lost (${lost.reason}): ${lost.message}`);
  });
  // WebGPUBackend's constructor checks navigator.gpu.
  if (openedGpu) exposeGpu(openedGpu);
  const Backend = pkg.WebGPUBackend;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new Backend(device, adapter.info), 0);
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
  activeDevice = device;
}

/**
 * Adapter indices for the ranks of a webgpu run, one rank per adapter: the configured GPU
 * indices (TFLEET_GPU_DEVICES) when given, else every hardware adapter this process found when
 * it opened its own (the worker does at start), else adapter 0 (one software adapter).
 */
export function webgpuRankAdapters(configured: readonly string[] = []): number[] {
  if (configured.length > 0) return configured.map((index) => Number(index));
  if (activeAdapter && !activeAdapter.software && hardwareAdapterCount > 0) return Array.from({ length: hardwareAdapterCount }, (_, i) => i);
  return [0];
}

/** The adapter this process opened, if any. */
export function activeWebGpuAdapter(): WebGpuAdapterRecord | null {
  return activeAdapter;
}

/** GPU buffers of the webgpu backend: for leak checks next to tf.memory(). */
export interface WebGpuBufferCounts {
  usedBuffers: number;
  freeBuffers: number;
  bytesInUse: number;
  bytesAllocated: number;
}

interface WebGpuBackendInternals {
  bufferManager: { getNumUsedBuffers(): number; getNumFreeBuffers(): number; numBytesUsed: number; numBytesAllocated: number };
}

/** Buffer counts of the registered webgpu backend; throws when it is not initialised. */
export function webgpuBufferCounts(): WebGpuBufferCounts {
  const backend = tf.findBackend('webgpu') as unknown as Partial<WebGpuBackendInternals> | null;
  const manager = backend?.bufferManager;
  if (!manager) throw new Error('the webgpu backend is not initialised');
  return { usedBuffers: manager.getNumUsedBuffers(), freeBuffers: manager.getNumFreeBuffers(), bytesInUse: manager.numBytesUsed, bytesAllocated: manager.numBytesAllocated };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

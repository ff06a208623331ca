import * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-wasm 4.22's `BackendWasm` (and its emscripten module) that the
 * project's kernels use. They are not a public API, so everything goes through this one file,
 * and {@link asWasmBackend} checks they exist before any kernel relies on them.
 */
export interface WasmModule {
  cwrap(name: string, returnType: null, argTypes: Array<'number' | 'array'>): (...args: Array<number | boolean | Uint8Array>) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
}

export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: tf.DataId): WasmTensorData };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  /** How many tensors share this data (reshapes and clones share it). */
  refCount(dataId: tf.DataId): number;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export type KernelArgs = Parameters<tf.KernelFunc>[0];

export function asWasmBackend(backend: unknown): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (
    !b ||
    typeof b.makeOutput !== 'function' ||
    typeof b.refCount !== 'function' ||
    typeof b.dataIdNextNumber !== 'number' ||
    !b.dataIdMap ||
    !b.wasm ||
    typeof b.wasm.cwrap !== 'function' ||
    typeof b.wasm.tfjs?.registerTensor !== 'function'
  ) {
    throw new Error('tfleet wasm kernels need the tfjs-backend-wasm 4.22 backend internals (makeOutput, dataIdMap, wasm.cwrap)');
  }
  return b as WasmBackend;
}

/** Byte offset of a tensor's first element in the backend heap (what the wasm kernels take as a pointer). */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** The same memory under another shape: for passing into kernels only, never returned or disposed. */
export function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

export function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Wraps slices of existing wasm-heap tensors as temporary tensor ids, so a wasm kernel can run
 * on one batch slice without a copy. Ids come from the backend's own counter, so they never
 * collide with real tensors; {@link release} unregisters them (the memory stays owned by the
 * real tensor), which also frees any XNNPACK operator cached on the id.
 */
export class HeapViews {
  private readonly ids: number[] = [];

  constructor(private readonly backend: WasmBackend) {}

  /** A float32 view of `count` elements starting `elementOffset` elements into `t`. */
  slice(t: tf.TensorInfo, elementOffset: number, count: number): number {
    const id = this.backend.dataIdNextNumber++;
    const base = heapOffset(this.backend, t);
    this.backend.wasm.tfjs.registerTensor(id, count, base + elementOffset * 4);
    this.ids.push(id);
    return id;
  }

  release(): void {
    for (const id of this.ids) this.backend.wasm.tfjs.disposeData(id);
    this.ids.length = 0;
  }
}

/** Frees kernel intermediates; tolerates duplicates (the same dataId listed twice). */
export function disposeAll(backend: WasmBackend, infos: Array<tf.TensorInfo | null | undefined>): void {
  const seen = new Set<tf.DataId>();
  for (const info of infos) {
    if (info && !seen.has(info.dataId)) {
      seen.add(info.dataId);
      backend.disposeData(info.dataId);
    }
  }
}

/** cwrap'd wasm functions, one set per backend instance (each worker thread has its own). */
export function perBackend<T>(factory: (backend: WasmBackend) => T): (backend: WasmBackend) => T {
  const cache = new WeakMap<WasmBackend, T>();
  return (backend) => {
    let value = cache.get(backend);
    if (value === undefined) {
      value = factory(backend);
      cache.set(backend, value);
    }
    return value;
  };
}

/** The parts of the WebAssembly JS API the loaders use (the project compiles without the DOM lib, which declares them). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** A WebAssembly.Memory as far as the kernels use it (this project compiles without the DOM lib). */
export interface WasmHeapMemory {
  /** Replaced by a new buffer whenever the memory grows: read it at each use. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** The backend heap's WebAssembly.Memory, which the project's own wasm modules import as env.memory. */
export function backendMemory(backend: WasmBackend): WasmHeapMemory | null {
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  return memory instanceof wasmApi.Memory ? (memory as WasmHeapMemory) : null;
}

/**
 * A per-backend loader of a project wasm module (committed as base64) that imports the backend
 * heap, so its functions run on tensors where they live. Compiled once per thread, instantiated
 * once per backend instance; `who` names it in the error when the tfjs internals are missing.
 */
export function heapModuleLoader<T>(who: string, base64: string): (backend: WasmBackend) => T {
  let compiled: object | null = null;
  return perBackend((backend) => {
    const memory = backendMemory(backend);
    if (!memory) throw new Error(`${who} need the tfjs-backend-wasm 4.22 internal backend.wasm.asm.memory (a WebAssembly.Memory)`);
    compiled ??= new wasmApi.Module(Buffer.from(base64, 'base64'));
    return new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as T;
  });
}

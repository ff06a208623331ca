import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeGemmAllowed } from '@tfleet/config';
import type { WasmHeapMemory } from '../wasm-internals';
import type { GemmEntryPoints } from './gemm-entry-points';

/**
 * The native GEMM (native/gemm, an N-API addon built by `npm ci`'s postinstall where a C
 * compiler is present): the same contract and the same float32 results as kernels.wat's gemm
 * (relaxed build), on 256-bit AVX2 FMAs with a 6x16 register tile. Under Node 20's V8 the wasm
 * micro-kernel cannot keep more than eight 128-bit accumulators without spilling, which caps it
 * near half of what the same core does natively (docs/engine.md, "GEMM roofline").
 *
 * It works on the tensors where they live: the addon gets the wasm backend's heap (the
 * WebAssembly.Memory's ArrayBuffer, read at every call because growing the memory replaces it)
 * and the same byte offsets the wasm kernels take, and checks every operand's extent against it.
 */

/** The addon's exports, as native/gemm/src/addon.c defines them (ABI version 1). */
export interface NativeGemmAddon {
  abiVersion: number;
  supported(): boolean;
  /** args: GEMM_ARGS int32 values, in kernels.wat's gemm parameter order, then bias and packed B offsets. */
  gemm(heap: ArrayBuffer, args: Int32Array): void;
  /** args: [b, rowStride, colStride, k, n, dst]. */
  packB(heap: ArrayBuffer, args: Int32Array): void;
  packedBytes(n: number, k: number): number;
}

const ADDON_ABI_VERSION = 1;
const GEMM_ARGS = 18;
const PACK_ARGS = 6;
const ADDON_PATH = path.join('native', 'gemm', 'build', 'Release', 'tfleet_gemm.node');

export type NativeGemmStatus = { active: true; addonPath: string } | { active: false; reason: string };

let status: NativeGemmStatus | null = null;
let addon: NativeGemmAddon | null = null;

/** The addon next to the package root, searched upward from this file (src/ or dist/ alike). */
function findAddon(): string | null {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, ADDON_PATH);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function isAddon(value: unknown): value is NativeGemmAddon {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v['abiVersion'] === ADDON_ABI_VERSION && typeof v['supported'] === 'function' && typeof v['gemm'] === 'function' && typeof v['packB'] === 'function' && typeof v['packedBytes'] === 'function';
}

/**
 * Whether this process multiplies on the native GEMM, and if not, why (recorded with every run
 * through the backend's device text). Decided once per thread.
 */
export function nativeGemmStatus(): NativeGemmStatus {
  if (status) return status;
  status = loadStatus();
  return status;
}

function loadStatus(): NativeGemmStatus {
  if (!nativeGemmAllowed()) return { active: false, reason: 'TFLEET_NATIVE_GEMM=0' };
  if (process.arch !== 'x64') return { active: false, reason: `no native GEMM for ${process.arch} (it needs x86-64 with AVX2 and FMA)` };
  const addonPath = findAddon();
  if (!addonPath) return { active: false, reason: `${ADDON_PATH} is not built (npm ci builds it where a C compiler is present: node scripts/build-native.js)` };
  let loaded: unknown;
  try {
    // A native addon cannot be imported statically: it exists only where the build succeeded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(addonPath) as unknown;
  } catch (error) {
    return { active: false, reason: `${addonPath} did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isAddon(loaded)) return { active: false, reason: `${addonPath} is not ABI version ${ADDON_ABI_VERSION} of the tfleet GEMM addon (rebuild it: node scripts/build-native.js)` };
  if (!loaded.supported()) return { active: false, reason: 'this CPU lacks AVX2 or FMA' };
  addon = loaded;
  return { active: true, addonPath };
}

/** The loaded addon; null where {@link nativeGemmStatus} is inactive. */
export function nativeGemmAddon(): NativeGemmAddon | null {
  return nativeGemmStatus().active ? addon : null;
}

/**
 * `wasm`'s exports with the GEMM entries (gemm, gemm_bias, gemm_packed, pack_b, packed_bytes)
 * on the addon. The scratch the wasm GEMM packs into is not needed: the addon packs into its own
 * buffers (one set per Node environment, i.e. per thread), so scratch_bytes asks for nothing.
 */
export function withNativeGemm<T extends GemmEntryPoints>(wasm: T, memory: WasmHeapMemory, native: NativeGemmAddon): T {
  const args = new Int32Array(GEMM_ARGS);
  const packArgs = new Int32Array(PACK_ARGS);
  const run = (
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    aBatch: number,
    rsA: number,
    csA: number,
    b: number,
    bBatch: number,
    rsB: number,
    csB: number,
    c: number,
    cBatch: number,
    ldc: number,
    accumulate: number,
    bias: number,
    packed: number,
  ): void => {
    args[0] = batch;
    args[1] = m;
    args[2] = n;
    args[3] = k;
    args[4] = a;
    args[5] = aBatch;
    args[6] = rsA;
    args[7] = csA;
    args[8] = b;
    args[9] = bBatch;
    args[10] = rsB;
    args[11] = csB;
    args[12] = c;
    args[13] = cBatch;
    args[14] = ldc;
    args[15] = accumulate;
    args[16] = bias;
    args[17] = packed;
    // instantiateSimdKernels checked it is an ArrayBuffer; a memory never becomes shared.
    native.gemm(memory.buffer as ArrayBuffer, args);
  };
  const entries: GemmEntryPoints = {
    scratch_bytes: () => 0,
    gemm: (batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc) => run(batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, 0, 0),
    gemm_bias: (batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, bias) => run(batch, m, n, k, a, aB, rsA, csA, b, bB, rsB, csB, c, cB, ldc, acc, bias, 0),
    gemm_packed: (m, n, k, a, rsA, csA, packed, c, ldc, acc) => run(1, m, n, k, a, 0, rsA, csA, 0, 0, 0, 0, c, 0, ldc, acc, 0, packed),
    pack_b: (b, rsB, csB, k, n, dst) => {
      packArgs[0] = b;
      packArgs[1] = rsB;
      packArgs[2] = csB;
      packArgs[3] = k;
      packArgs[4] = n;
      packArgs[5] = dst;
      native.packB(memory.buffer as ArrayBuffer, packArgs);
    },
    packed_bytes: (n, k) => native.packedBytes(n, k),
  };
  return { ...wasm, ...entries };
}

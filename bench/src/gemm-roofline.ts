import * as tf from '@tensorflow/tfjs';
import { DATASET_TASKS, type DatasetName, experimentSpecSchema, FAMILIES_BY_TASK } from '@tfleet/contracts';
import { initBackend, registerWasmKernels } from '@tfleet/ml';
import { type GemmCall, recordGemmCalls, relaxedSimdSupported, simdKernels } from '../../libs/ml/src/backend/wasm-kernels/simd';
import { compileWat } from '../../libs/ml/src/backend/wasm-kernels/simd/wat-compiler';
import { asWasmBackend, heapOffset, type WasmBackend, wasmApi } from '../../libs/ml/src/backend/wasm-kernels/wasm-internals';
import { specWorkload } from './spec-workload';
import { buildWorkload, summedSoftmaxCrossEntropy, type Workload, WORKLOAD_NAMES } from './workloads';

/*
 * `npm run bench:gemm`: the GEMM roofline. Run it pinned to one core:
 *
 *     taskset -c 0 npm run bench:gemm -- [--seconds 0.3] [--source workloads|zoo|all] [--big-only]
 *                                        [--shape m,k,n[,ta][,tb]]... [--markdown]
 *
 * 1. Peak: a wasm module that does nothing but independent 128-bit SIMD arithmetic in registers
 *    (f32x4.mul + f32x4.add chains, and f32x4.relaxed_madd chains), at several chain counts; the
 *    best is this CPU's 128-bit wasm SIMD peak under this V8.
 * 2. Shapes: every GEMM call the reference workloads and the model zoo's default specs (every
 *    family on every data set it fits) make in one forward and backward pass, recorded at the
 *    SIMD module's gemm entry points; plus each forward convolution as its im2col product
 *    (forward Conv2D runs on XNNPACK, not on the project GEMM; the line says so).
 * 3. Each distinct shape timed on the project GEMM, as GFLOPS and share of the peak. Where the
 *    native AVX2 GEMM is active (simd/native-gemm.ts) the shapes run on it, as training does:
 *    every line says which (`gemm_engine`), and the share stays against the 128-bit wasm peak,
 *    so it can pass 1. `TFLEET_NATIVE_GEMM=0` times the wasm GEMM.
 *
 * Output: JSON lines (`kind`: peak, gemm, summary). Rates are flops over the process's on-CPU
 * time (getrusage), best timed batch; `median_gflops` is the median batch.
 */

interface Args {
  seconds: number;
  source: 'workloads' | 'zoo' | 'all';
  markdown: boolean;
  /** Only the shapes with m, n and k all above 64. */
  bigOnly: boolean;
  /** `--shape m,k,n[,ta][,tb]` (repeatable): time these instead of recording the models'. */
  shapes: Shape[];
}

function parseShape(text: string): Shape {
  const parts = text.split(',');
  const [m, k, n] = parts.slice(0, 3).map(Number);
  const flags = parts.slice(3);
  if (![m, k, n].every((d) => Number.isInteger(d) && d > 0) || flags.some((f) => f !== 'ta' && f !== 'tb')) {
    throw new Error(`--shape ${text}: expected m,k,n with optional ,ta (A transposed) and ,tb (B transposed)`);
  }
  return { batch: 1, m, k, n, transA: flags.includes('ta'), transB: flags.includes('tb'), aBatched: false, bBatched: false, packed: false, im2col: false };
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 0.3, source: 'all', markdown: false, bigOnly: false, shapes: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--seconds') {
      args.seconds = Number(value());
      if (!(args.seconds > 0)) throw new Error('--seconds must be a positive number');
    } else if (flag === '--source') {
      const v = value();
      if (v !== 'workloads' && v !== 'zoo' && v !== 'all') throw new Error('--source is workloads, zoo or all');
      args.source = v;
    } else if (flag === '--shape') {
      args.shapes.push(parseShape(value()));
    } else if (flag === '--big-only') {
      args.bigOnly = true;
    } else if (flag === '--markdown') {
      args.markdown = true;
    } else {
      throw new Error(`unknown flag ${flag} (--seconds S, --source workloads|zoo|all, --big-only, --shape m,k,n[,ta][,tb], --markdown)`);
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Peak

/**
 * WAT of one peak kernel: `chains` independent dependency chains in v128 locals, `iters` loop
 * iterations, two chain steps per iteration. 'muladd': chain i is m_i = m_i * c (f32x4.mul) and
 * a_i = a_i + m_i (f32x4.add), 2 vector ops = 8 flops each; 'fma': a_i = a_i * c + d
 * (f32x4.relaxed_madd), 8 flops. The multiplier is 1 + 2^-23 so nothing overflows or goes
 * subnormal over a call; the lanes are summed into the result so no chain is dead code.
 */
function peakWat(kind: 'muladd' | 'fma', chains: number): string {
  const locals: string[] = [];
  const init: string[] = [];
  const body: string[] = [];
  const sum: string[] = [];
  for (let i = 0; i < chains; i++) {
    locals.push(`(local $a${i} v128)`);
    init.push(`(local.set $a${i} (f32x4.splat (f32.add (local.get $x) (f32.const ${i}))))`);
    if (kind === 'muladd') {
      locals.push(`(local $m${i} v128)`);
      init.push(`(local.set $m${i} (f32x4.splat (f32.add (local.get $x) (f32.const ${i + 0.5}))))`);
    }
  }
  for (let step = 0; step < 2; step++) {
    for (let i = 0; i < chains; i++) {
      if (kind === 'muladd') {
        body.push(`(local.set $m${i} (f32x4.mul (local.get $m${i}) (local.get $c)))`);
        body.push(`(local.set $a${i} (f32x4.add (local.get $a${i}) (local.get $m${i})))`);
      } else {
        body.push(`(local.set $a${i} (f32x4.relaxed_madd (local.get $a${i}) (local.get $c) (local.get $d)))`);
      }
    }
  }
  let total = `(local.get $a0)`;
  for (let i = 1; i < chains; i++) total = `(f32x4.add ${total} (local.get $a${i}))`;
  sum.push(`(local.set $a0 ${total})`);
  return `(module
  (func (export "run") (param $iters i32) (param $x f32) (result f32)
    (local $c v128) (local $d v128) ${locals.join(' ')}
    (local.set $c (f32x4.splat (f32.const 1.00000012)))
    (local.set $d (f32x4.splat (f32.const 0.5)))
    ${init.join('\n    ')}
    (loop $l
      ${body.join('\n      ')}
      (br_if $l (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
    ${sum.join('\n    ')}
    (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))`;
}

interface PeakLine {
  kind: 'peak';
  variant: 'muladd' | 'fma';
  chains: number;
  /** Best timed batch: on a shared core, the batch least interrupted by other processes. */
  gflops: number;
  median_gflops: number;
}

async function measurePeak(variant: 'muladd' | 'fma', chains: number, seconds: number): Promise<PeakLine> {
  const bytes = await compileWat(peakWat(variant, chains), `peak-${variant}-${chains}.wat`, 'relaxed');
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {}) as { exports: Record<string, unknown> };
  const run = instance.exports['run'] as (iters: number, x: number) => number;
  const iters = 200_000;
  const flopsPerCall = iters * 2 * chains * 8;
  let sink = 0;
  for (let i = 0; i < 5; i++) sink += run(iters, 1);
  const rates: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || rates.length < 5) {
    const t0 = cpuClock();
    sink += run(iters, 1);
    rates.push(flopsPerCall / ((cpuClock() - t0) * 1e6));
  }
  if (Number.isNaN(sink)) throw new Error('peak kernel produced NaN');
  return { kind: 'peak', variant, chains, gflops: round(best(rates)), median_gflops: round(median(rates)) };
}

// ---------------------------------------------------------------------------------------------
// Shapes

interface Shape {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatched: boolean;
  bBatched: boolean;
  packed: boolean;
  /** Forward convolution as im2col: XNNPACK runs it, the project GEMM does not. */
  im2col: boolean;
}

interface ShapeUse {
  shape: Shape;
  /** "model: calls per step" for every model that makes this call. */
  uses: Map<string, number>;
}

function shapeKey(s: Shape): string {
  return [s.batch, s.m, s.n, s.k, s.transA, s.transB, s.aBatched, s.bBatched, s.packed, s.im2col].join(',');
}

function fromCall(call: GemmCall): Shape {
  return {
    batch: call.batch,
    m: call.m,
    n: call.n,
    k: call.k,
    // A transposed: its rows are columns in memory (row stride 1, column stride m)
    transA: call.aRowStride === 1 && call.aColStride !== 1,
    transB: call.entry !== 'gemm_packed' && call.bRowStride === 1 && call.bColStride !== 1,
    aBatched: call.aBatched === 1,
    bBatched: call.bBatched === 1,
    packed: call.entry === 'gemm_packed',
    im2col: false,
  };
}

function addUse(table: Map<string, ShapeUse>, shape: Shape, model: string): void {
  const key = shapeKey(shape);
  let entry = table.get(key);
  if (!entry) {
    entry = { shape, uses: new Map() };
    table.set(key, entry);
  }
  entry.uses.set(model, (entry.uses.get(model) ?? 0) + 1);
}

/** Forward convolutions of the model as im2col products, for the batch of `inputs`. */
function convShapes(model: tf.LayersModel, batch: number): Shape[] {
  const shapes: Shape[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Conv1D') continue;
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    const outShape = (layer.output as tf.SymbolicTensor).shape;
    const kernel = layer.getWeights()[0].shape;
    // kernel is [fh, fw, cIn, filters] (Conv2D) or [fw, cIn, filters] (Conv1D)
    const depth = kernel.slice(0, -1).reduce((x: number, y: number) => x * y, 1);
    const filters = kernel[kernel.length - 1];
    const pixels = outShape.slice(1, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
    if (inShape.length < 3) continue;
    shapes.push({ batch: 1, m: batch * pixels, n: filters, k: depth, transA: false, transB: false, aBatched: false, bBatched: false, packed: false, im2col: true });
  }
  return shapes;
}

/** Every GEMM one forward + backward pass of the workload makes, into `table` under `name`. */
function recordWorkload(backend: WasmBackend, workload: Workload, name: string, table: Map<string, ShapeUse>): void {
  const { inputs, labels } = workload.makeBatch(workload.globalBatch, 1);
  const loss = workload.loss ?? summedSoftmaxCrossEntropy();
  const calls: GemmCall[] = [];
  recordGemmCalls(backend, (call) => calls.push(call));
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = workload.model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: true }) as tf.Tensor;
      return loss(out, labels);
    });
    value.dispose();
    tf.dispose(grads);
  } finally {
    recordGemmCalls(backend, null);
    tf.dispose([...inputs, labels]);
  }
  for (const call of calls) addUse(table, fromCall(call), name);
  for (const shape of convShapes(workload.model, workload.globalBatch)) addUse(table, shape, name);
  workload.model.dispose();
}

function collectShapes(backend: WasmBackend, source: Args['source']): Map<string, ShapeUse> {
  const table = new Map<string, ShapeUse>();
  if (source !== 'zoo') {
    for (const name of WORKLOAD_NAMES) recordWorkload(backend, buildWorkload(name), name, table);
  }
  if (source !== 'workloads') {
    for (const dataset of Object.keys(DATASET_TASKS) as DatasetName[]) {
      for (const family of FAMILIES_BY_TASK[DATASET_TASKS[dataset]]) {
        const spec = experimentSpecSchema.parse({ dataset: { name: dataset }, model: { family } });
        recordWorkload(backend, specWorkload(spec), `${family}/${dataset}`, table);
      }
    }
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// Timing one shape on the project GEMM

function measureShape(backend: WasmBackend, s: Shape, seconds: number): { best: number; median: number } {
  const kernels = simdKernels(backend);
  const ex = kernels.exports;
  const a = tf.randomNormal([(s.aBatched ? s.batch : 1) * s.m * s.k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([(s.bBatched ? s.batch : 1) * s.k * s.n], 0, 1, 'float32', 2);
  const c = tf.zeros([s.batch * s.m * s.n]);
  const packedT = s.packed ? tf.zeros([ex.packed_bytes(s.n, s.k) / 4 + 4]) : null;
  try {
    const aAt = heapOffset(backend, a);
    const bAt = heapOffset(backend, b);
    const cAt = heapOffset(backend, c);
    const rsA = s.transA ? 1 : s.k;
    const csA = s.transA ? s.m : 1;
    const rsB = s.transB ? 1 : s.n;
    const csB = s.transB ? s.k : 1;
    let call: () => void;
    if (packedT) {
      const packedAt = (heapOffset(backend, packedT) + 15) & ~15;
      ex.pack_b(bAt, rsB, csB, s.k, s.n, packedAt);
      const scratch = kernels.scratch(ex.scratch_bytes(0, 0));
      call = () => ex.gemm_packed(s.m, s.n, s.k, aAt, rsA, csA, packedAt, cAt, s.n, 0, scratch);
    } else {
      const scratch = kernels.scratch(ex.scratch_bytes(s.n, s.k));
      call = () => ex.gemm(s.batch, s.m, s.n, s.k, aAt, s.aBatched ? s.m * s.k : 0, rsA, csA, bAt, s.bBatched ? s.k * s.n : 0, rsB, csB, cAt, s.m * s.n, s.n, 0, scratch);
    }
    const flops = 2 * s.batch * s.m * s.n * s.k;
    // calls per timed batch: about 2 ms of work at 30 GFLOPS (short batches, so that on a shared
    // core some run uninterrupted; the best batch is reported)
    const reps = Math.max(1, Math.round(6e7 / flops));
    for (let i = 0; i < Math.min(reps, 20); i++) call();
    const rates: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || rates.length < 5) {
      const t0 = cpuClock();
      for (let i = 0; i < reps; i++) call();
      rates.push((flops * reps) / ((cpuClock() - t0) * 1e6));
    }
    return { best: best(rates), median: median(rates) };
  } finally {
    tf.dispose([a, b, c, ...(packedT ? [packedT] : [])]);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Milliseconds this process has spent on a CPU (getrusage: user + system, which Linux computes
 * from the scheduler's nanosecond runtimes), so that time the scheduler gives other processes
 * on a shared core is not counted. Pinned with taskset, V8's helper threads share the one core
 * and count too (they are idle while the kernels run).
 */
function cpuClock(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function best(values: number[]): number {
  return Math.max(...values);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function describe(s: Shape): string {
  const a = `${s.transA ? 'Aᵀ' : 'A'}`;
  const b = s.packed ? 'B(packed)' : s.transB ? 'Bᵀ' : 'B';
  return `${s.batch > 1 ? `${s.batch}×` : ''}[${s.m}×${s.k}]·[${s.k}×${s.n}] ${a}·${b}${s.im2col ? ' im2col' : ''}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initBackend('wasm');
  registerWasmKernels();
  const backend = asWasmBackend(tf.backend());
  const relaxed = relaxedSimdSupported();
  const build = simdKernels(backend).build;
  const engine = simdKernels(backend).gemm;

  const peaks: PeakLine[] = [];
  for (const chains of [4, 6, 7]) peaks.push(await measurePeak('muladd', chains, 0.5));
  if (relaxed) for (const chains of [8, 10, 12, 14]) peaks.push(await measurePeak('fma', chains, 0.5));
  for (const p of peaks) console.log(JSON.stringify(p));
  const peak = Math.max(...peaks.map((p) => p.gflops));
  const peakMulAdd = Math.max(...peaks.filter((p) => p.variant === 'muladd').map((p) => p.gflops));

  const table = args.shapes.length ? new Map(args.shapes.map((shape) => [shapeKey(shape), { shape, uses: new Map([['--shape', 1]]) }])) : collectShapes(backend, args.source);
  const rows = [...table.values()].sort((x, y) => {
    const fx = x.shape.batch * x.shape.m * x.shape.n * x.shape.k;
    const fy = y.shape.batch * y.shape.m * y.shape.n * y.shape.k;
    return fy - fx;
  });
  const results: Array<{ s: Shape; gflops: number; uses: string[] }> = [];
  for (const row of rows) {
    const s = row.shape;
    if (args.bigOnly && !(s.m > 64 && s.n > 64 && s.k > 64)) continue;
    const rate = measureShape(backend, s, args.seconds);
    const gflops = rate.best;
    const uses = [...row.uses].map(([model, count]) => `${model}×${count}`);
    const big = s.m > 64 && s.n > 64 && s.k > 64;
    results.push({ s, gflops, uses });
    console.log(
      JSON.stringify({
        kind: 'gemm',
        gemm_engine: engine,
        batch: s.batch,
        m: s.m,
        k: s.k,
        n: s.n,
        transpose_a: s.transA,
        transpose_b: s.transB,
        packed_b: s.packed,
        batched_a: s.aBatched,
        batched_b: s.bBatched,
        im2col_forward_conv: s.im2col,
        larger_than_64cubed: big,
        gflops: round(gflops),
        median_gflops: round(rate.median),
        share_of_peak: round(gflops / peak, 3),
        uses,
      }),
    );
  }
  const big = results.filter((r) => r.s.m > 64 && r.s.n > 64 && r.s.k > 64);
  const atGoal = big.filter((r) => r.gflops >= 0.7 * peak);
  console.log(
    JSON.stringify({
      kind: 'summary',
      build,
      gemm_engine: engine,
      relaxed_simd: relaxed,
      peak_gflops: peak,
      peak_muladd_gflops: peakMulAdd,
      shapes: results.length,
      larger_than_64cubed: big.length,
      at_70_percent: atGoal.length,
      worst_share_larger_than_64cubed: big.length ? round(Math.min(...big.map((r) => r.gflops / peak)), 3) : null,
    }),
  );
  if (args.markdown) {
    console.log(`\n| GEMM (m×k·k×n) | GFLOPS | share of ${peak} | used by (calls per step) |\n|---|---|---|---|`);
    for (const r of results) console.log(`| ${describe(r.s)} | ${round(r.gflops)} | ${Math.round((100 * r.gflops) / peak)}% | ${r.uses.join(', ')} |`);
  }
  const leaked = tf.memory().numTensors;
  if (leaked !== 0) console.error(`warning: ${leaked} tensors alive at exit`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

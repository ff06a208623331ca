import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@tfleet/ml';
import { erfGradKernel, erfKernel, expKernel, tanhGradKernel, tanhKernel } from '../../libs/ml/src/backend/wasm-kernels/activations';
import { stockConfig } from '../../libs/ml/src/backend/wasm-kernels/stock-kernels';
import { zooTraining } from './zoo-training';

/*
 * A/B of the project's Tanh, Exp and Erf kernels and their fused gradients against the stock
 * tfjs-backend-wasm ones, everything else the project's, alternating the two sides in rounds in
 * one process (pin it: taskset -c 0; ABBA order). Two modes:
 *   node dist/bench/src/activation-ab.js calls 64x13x128,32x128x256 [tanh,exp,erf,sigmoid,tanh-grad,erf-grad] [rounds]
 *   node dist/bench/src/activation-ab.js step simple-rnn/cmudict [rounds] [steps per round]
 * Prints the median time per call (or step) of each side and the median of the per-round ratios.
 */

const OURS = [tanhKernel, expKernel, erfKernel];
const GRADS = [tanhGradKernel, erfGradKernel];

function use(side: 'stock' | 'tfleet'): void {
  for (const k of OURS) {
    const stock = stockConfig(k.kernelName);
    if (!stock) throw new Error(`no stock ${k.kernelName} remembered (registerWasmKernels not run?)`);
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(side === 'tfleet' ? { ...k, setupFunc: stock.setupFunc } : stock);
  }
  for (const k of GRADS) {
    if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
    if (side === 'tfleet') tf.registerKernel(k);
  }
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1];

async function alternate(rounds: number, once: () => Promise<void> | void, reps: number): Promise<{ stock: number; tfleet: number; ratio: number; ratios: number[] }> {
  const times: Record<'stock' | 'tfleet', number[]> = { stock: [], tfleet: [] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // ABBA order: whichever side runs second in a round gets a warmer heap and caches.
    const order = r % 2 === 0 ? (['stock', 'tfleet'] as const) : (['tfleet', 'stock'] as const);
    for (const side of order) {
      use(side);
      await once(); // one untimed call after the swap
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await once();
      times[side].push((performance.now() - t0) / reps);
    }
    ratios.push(times.stock[r] / times.tfleet[r]);
  }
  use('tfleet');
  return { stock: median(times.stock), tfleet: median(times.tfleet), ratio: median(ratios), ratios };
}

type UnaryOp = (x: tf.Tensor) => tf.Tensor;
const OPS: Record<string, UnaryOp> = { tanh: (x) => tf.tanh(x), exp: (x) => tf.exp(x), erf: (x) => tf.erf(x), sigmoid: (x) => tf.sigmoid(x) };

async function calls(shapes: number[][], ops: string[], rounds: number): Promise<void> {
  for (const shape of shapes) {
    const x = tf.randomNormal(shape);
    const dy = tf.randomNormal(shape);
    for (const name of ops) {
      const base = OPS[name.replace(/-grad$/, '')];
      if (!base) throw new Error(`unknown op ${name} (one of ${Object.keys(OPS).join(', ')}, optionally with -grad)`);
      const fn = name.endsWith('-grad') ? () => tf.grad(base)(x, dy) : () => base(x);
      // tidy disposes everything but what the callback returns: return nothing.
      const once = (): void => tf.tidy(() => void fn());
      const reps = Math.max(3, Math.round(2e6 / x.size));
      const r = await alternate(rounds, once, reps);
      console.log(`[${shape.join(',')}] ${name}: stock ${r.stock.toFixed(3)} ms, tfleet ${r.tfleet.toFixed(3)} ms, median ratio ${r.ratio.toFixed(2)}x (${reps} calls x ${rounds} rounds)`);
    }
    tf.dispose([x, dy]);
  }
}

async function step(name: string, rounds: number, steps: number): Promise<void> {
  const training = zooTraining(name);
  try {
    const once = (): Promise<void> => training.step();
    for (const side of ['stock', 'tfleet', 'stock', 'tfleet'] as const) {
      use(side);
      await once();
      await once();
    }
    const r = await alternate(rounds, once, steps);
    console.log(`${name}: stock ${r.stock.toFixed(1)} ms/step, tfleet ${r.tfleet.toFixed(1)} ms/step, median ratio ${r.ratio.toFixed(3)} (${rounds} rounds x ${steps} steps; ratios ${r.ratios.map((v) => v.toFixed(3)).join(' ')})`);
  } finally {
    training.dispose();
  }
}

async function main(): Promise<void> {
  const [mode, what, a, b] = process.argv.slice(2);
  const num = (v: string | undefined, fallback: number): number => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${v}`);
    return n;
  };
  await initBackend('wasm');
  if (mode === 'calls' && what) {
    const shapes = what.split(',').map((s) => s.split('x').map(Number));
    if (shapes.some((s) => s.some((d) => !Number.isInteger(d) || d < 1))) throw new Error(`bad shapes ${what} (e.g. 64x13x128,32x128)`);
    await calls(shapes, (a ?? 'tanh,exp,erf,sigmoid,tanh-grad,erf-grad').split(','), num(b, 9));
  } else if (mode === 'step' && what) {
    await step(what, num(a, 6), num(b, 3));
  } else {
    throw new Error('usage: activation-ab calls <shapes> [ops] [rounds] | activation-ab step <zoo entry> [rounds] [steps]');
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

import { experimentSpecSchema } from '@tfleet/contracts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalJson, gpuModels, hostHardware, scalingEfficiency, throughputSignature } from './throughput-baselines';

const spec = (training: Record<string, unknown> = {}, model: Record<string, unknown> = { family: 'cnn' }) =>
  experimentSpecSchema.parse({ dataset: { name: 'mnist' }, model, training });

describe('throughputSignature', () => {
  const device = 'cpu (wasm simd, 1 thread)';

  it('ignores what does not change samples/s: ranks, seed, epochs, learning rate, name', () => {
    const base = throughputSignature(spec(), 'wasm', device);
    expect(throughputSignature(spec({ ranks: 2, seed: 9, epochs: 40, learningRate: 0.1 }), 'wasm', device)).toBe(base);
    expect(throughputSignature({ ...spec(), name: 'other' }, 'wasm', device)).toBe(base);
  });

  it('changes with the batch, the model, the backend and the device', () => {
    const base = throughputSignature(spec(), 'wasm', device);
    const others = [
      throughputSignature(spec({ batchSize: 32 }), 'wasm', device),
      throughputSignature(spec({}, { family: 'cnn', denseUnits: [64] }), 'wasm', device),
      throughputSignature(spec(), 'cpu', device),
      throughputSignature(spec(), 'wasm', 'another device'),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('changes with the hardware under the same device string, and defaults to this host', () => {
    const here = throughputSignature(spec(), 'wasm', device, 'cpu: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz (x64)');
    const there = throughputSignature(spec(), 'wasm', device, 'cpu: AMD EPYC 7B13 (x64)');
    expect(here).not.toBe(there);
    expect(throughputSignature(spec(), 'wasm', device)).toBe(throughputSignature(spec(), 'wasm', device, hostHardware(device)));
  });

  it('hashes key order away', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe('hostHardware', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tfleet-gpus-'));
    for (const [bus, model] of [['0000:3b:00.0', 'NVIDIA H100 80GB HBM3'], ['0000:86:00.0', 'NVIDIA A100-SXM4-40GB']]) {
      mkdirSync(path.join(root, bus!));
      writeFileSync(path.join(root, bus!, 'information'), `Model: \t\t ${model}\nIRQ:   \t\t 42\nGPU UUID: \t GPU-0\n`);
    }
    mkdirSync(path.join(root, 'no-information'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("names this host's CPU model for a CPU device, and no GPU", () => {
    const hardware = hostHardware('cpu (wasm simd, 1 thread)', root);
    expect(hardware).toContain(os.cpus()[0]!.model.trim());
    expect(hardware).toContain(`(${os.arch()})`);
    expect(hardware).not.toContain('gpu:');
  });

  it('adds the GPU models the driver lists for a GPU device', () => {
    expect(gpuModels(root)).toEqual(['NVIDIA A100-SXM4-40GB', 'NVIDIA H100 80GB HBM3']);
    expect(hostHardware('GPU (libtensorflow CUDA, CUDA_VISIBLE_DEVICES=0)', root)).toMatch(/; gpu: NVIDIA A100-SXM4-40GB \+ NVIDIA H100 80GB HBM3$/);
    expect(hostHardware('GPU (libtensorflow CUDA)', path.join(root, 'absent'))).toMatch(/; gpu: unknown$/);
  });
});

describe('scalingEfficiency', () => {
  it('is samples/s over ranks x the 1-rank figure', () => {
    expect(scalingEfficiency(1800, 2, 1000)).toBe(0.9);
    expect(scalingEfficiency(1000, 1, 1000)).toBe(1);
  });

  it('is null without a usable baseline', () => {
    expect(scalingEfficiency(1800, 2, 0)).toBeNull();
    expect(scalingEfficiency(Number.NaN, 2, 1000)).toBeNull();
  });
});

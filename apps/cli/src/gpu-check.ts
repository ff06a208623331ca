import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { initBackend, listAdapters, probeWebGpu } from '@tfleet/ml';
import { compareRuns, PARITY_CASES, trainStepsOn } from '@tfleet/testing';

const USAGE = `usage: npm run gpu-check -- [--scales 4,16] [--workloads all|name,name] [--seconds S] [--warmup S] [--no-bench] [--no-goal]

One command for a machine with a GPU. Prints JSON lines on stdout (notes on stderr):
  1. {"check":"environment"}: platform, dawn.node, Vulkan loader and ICDs, what is missing, nvidia-smi -L
  2. {"check":"adapters"}: the adapters Dawn lists for the platform's API (and OpenGL ES on Linux)
  3. {"check":"backend"}: the adapter webgpu opens (its vendor, architecture, description, API)
  4. {"check":"parity"}: every model family's training steps on webgpu against wasm, with leak counts
  5. {"check":"bench"}: npm run bench -- --backend webgpu on the reference workloads at each --scales
     multiple of their batch (default 4 and 16)
  6. {"check":"goal"}: transformer-enc at 16x (batch 512) on webgpu against one CPU core with wasm
A software adapter (llvmpipe) is used only with TFLEET_WEBGPU_ALLOW_SOFTWARE=1; on one, the bench
defaults to cnn-mnist at 1x and the goal is skipped (a software rasterizer is no speed path).
Exit status 0 when an adapter opened and every family matched wasm, else 1.`;

/** Same bound as the webgpu family tests: step losses (relative) and weights (absolute). */
const PARITY_TOLERANCE = 1e-4;
const GOAL_SPEEDUP = 10;

interface CheckArgs {
  scales: number[] | null;
  workloads: string | null;
  seconds: number;
  warmup: number;
  bench: boolean;
  goal: boolean;
}

function parseArgs(argv: readonly string[]): CheckArgs {
  const args: CheckArgs = { scales: null, workloads: null, seconds: 5, warmup: 5, bench: true, goal: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--scales':
        args.scales = value().split(',').map(Number);
        if (args.scales.some((k) => !Number.isInteger(k) || k < 1)) fail('--scales must be positive integers');
        break;
      case '--workloads':
        args.workloads = value();
        if (!/^[a-z0-9,-]+$/.test(args.workloads)) fail('--workloads must be all or a comma-separated list of workload names');
        break;
      case '--seconds':
        args.seconds = Number(value());
        if (!(args.seconds > 0)) fail('--seconds must be positive');
        break;
      case '--warmup':
        args.warmup = Number(value());
        if (!(args.warmup >= 0)) fail('--warmup must be 0 or more');
        break;
      case '--no-bench':
        args.bench = false;
        break;
      case '--no-goal':
        args.goal = false;
        break;
      case '--help':
        process.stderr.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument '${flag}'`);
    }
  }
  return args;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function note(text: string): void {
  process.stderr.write(`gpu-check: ${text}\n`);
}

/** `nvidia-smi -L`, when the tool exists (the GPU the CUDA driver sees, for the record). */
function nvidiaSmi(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { timeout: 10_000 }, (error, stdout) => resolve(error ? null : stdout.trim()));
  });
}

/** Runs the bench in its own process (its own Dawn device) and returns its JSON lines. */
function runBench(benchArgs: string[]): Promise<Array<Record<string, unknown>>> {
  const entry = join(__dirname, '..', '..', '..', 'bench', 'src', 'main.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...benchArgs, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const lines: Array<Record<string, unknown>> = [];
      for (const text of out.split('\n')) {
        if (!text.trim().startsWith('{')) continue;
        try {
          lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          note(`unparsed bench output: ${text}`);
        }
      }
      resolve(lines);
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const probe = probeWebGpu();
  emit({
    check: 'environment',
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    dawnNode: probe.dawnNode,
    api: probe.api,
    vulkanLoader: probe.vulkanLoader,
    icds: probe.icds,
    softwareIcds: probe.softwareIcds,
    hardwareCandidate: probe.hardwareCandidate,
    missing: probe.missing,
    nvidiaSmi: await nvidiaSmi(),
    env: Object.fromEntries(['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'NVIDIA_DRIVER_CAPABILITIES', 'NVIDIA_VISIBLE_DEVICES', 'TFLEET_WEBGPU_ALLOW_SOFTWARE', 'EGL_PLATFORM'].map((n) => [n, process.env[n] ?? null])),
  });

  const apis = [...new Set([probe.api, process.platform === 'linux' ? 'opengles' : null].filter((a): a is NonNullable<typeof a> => a !== null))];
  if (probe.dawnNode) {
    for (const api of apis) {
      try {
        emit({ check: 'adapters', api, adapters: await listAdapters(api) });
      } catch (error) {
        emit({ check: 'adapters', api, error: errorText(error) });
      }
    }
  }

  let info;
  try {
    info = await initBackend('webgpu');
  } catch (error) {
    emit({ check: 'backend', ok: false, error: errorText(error) });
    note('no WebGPU adapter opened; see "missing" above (TFLEET_WEBGPU_ALLOW_SOFTWARE=1 accepts a software adapter, for CI)');
    process.exitCode = 1;
    return;
  }
  emit({ check: 'backend', ok: true, backend: info.backend, device: info.device, adapter: info.adapter, tfjsVersion: info.tfjsVersion });
  const software = info.adapter?.software === true;
  if (software) note('this is a software adapter: a correctness check only, its speed says nothing about a GPU');

  await initBackend('wasm');
  await initBackend('webgpu');
  let allMatch = true;
  for (const testCase of PARITY_CASES) {
    try {
      const wasm = await trainStepsOn('wasm', testCase);
      const webgpu = await trainStepsOn('webgpu', testCase, { initial: wasm.initial });
      const diff = compareRuns(wasm, webgpu);
      const ok =
        diff.lossRelativeDifference < PARITY_TOLERANCE && diff.weightAbsoluteDifference < PARITY_TOLERANCE && wasm.leakedTensors === 0 && webgpu.leakedTensors === 0 && webgpu.leakedBuffers === 0;
      allMatch &&= ok;
      emit({
        check: 'parity',
        family: testCase.name,
        task: testCase.task,
        ok,
        tolerance: PARITY_TOLERANCE,
        ...diff,
        losses: { wasm: wasm.losses, webgpu: webgpu.losses },
        leaked: { wasmTensors: wasm.leakedTensors, webgpuTensors: webgpu.leakedTensors, webgpuBuffers: webgpu.leakedBuffers },
        ms: { wasm: Math.round(wasm.wallMs), webgpu: Math.round(webgpu.wallMs) },
      });
    } catch (error) {
      allMatch = false;
      emit({ check: 'parity', family: testCase.name, ok: false, error: errorText(error) });
    }
  }
  if (!allMatch) process.exitCode = 1;

  if (args.bench) {
    const scales = args.scales ?? (software ? [1] : [4, 16]);
    const workloads = args.workloads ?? (software ? 'cnn-mnist' : 'all');
    for (const scale of scales) {
      note(`bench on webgpu: ${workloads} at ${scale}x batch`);
      const lines = await runBench(['--workload', workloads, '--backend', 'webgpu', '--batch-scale', String(scale), '--seconds', String(args.seconds), '--warmup', String(args.warmup)]);
      for (const line of lines) emit({ check: 'bench', batch_scale: scale, ...line });
    }
  }

  if (args.goal && args.bench && !software) {
    note('goal: transformer-enc at batch 512 (16x), webgpu against wasm on one core');
    const gpu = await runBench(['--workload', 'transformer-enc', '--backend', 'webgpu', '--batch-scale', '16', '--seconds', String(args.seconds), '--warmup', String(args.warmup)]);
    const cpu = await runBench(['--workload', 'transformer-enc', '--backend', 'wasm', '--batch-scale', '16', '--seconds', String(args.seconds), '--warmup', String(args.warmup)]);
    const rate = (lines: Array<Record<string, unknown>>): number | null => (typeof lines[0]?.['samples_per_s'] === 'number' ? (lines[0]['samples_per_s'] as number) : null);
    const [g, c] = [rate(gpu), rate(cpu)];
    const speedup = g !== null && c !== null && c > 0 ? Math.round((g / c) * 100) / 100 : null;
    emit({ check: 'goal', workload: 'transformer-enc', global_batch: 512, webgpu_samples_per_s: g, wasm_one_core_samples_per_s: c, speedup, target: GOAL_SPEEDUP, met: speedup !== null && speedup >= GOAL_SPEEDUP, device: info.device });
  }
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

if (require.main === module) {
  main()
    .then(() => process.exit(process.exitCode ?? 0))
    .catch((error: unknown) => {
      process.stderr.write(`gpu-check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}

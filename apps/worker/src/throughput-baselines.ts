import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type IORedis from 'ioredis';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { BackendName, ExperimentSpec } from '@tfleet/contracts';
import type { TfleetConfig } from '@tfleet/config';
import { createRedis } from '@tfleet/queue';
import { CONFIG } from '@tfleet/config';

/**
 * What a run's throughput depends on: the model, the data's shapes, the global batch, the
 * optimizer and where it runs: the backend, its device string and the hardware under it (the
 * host's CPU model, and the GPU model for a GPU device; the device string alone reads
 * "cpu (wasm simd, 1 thread)" on every machine). Seed, epochs, learning rate, ranks, names and
 * checkpointing do not change samples/s, so runs that differ only in those share one signature.
 */
export function throughputSignature(spec: ExperimentSpec, backend: BackendName, device: string, hardware: string = hostHardware(device)): string {
  const { batchSize, accumulationSteps, optimizer, clipNorm } = spec.training;
  const shape = { backend, device, hardware, model: spec.model, dataset: spec.dataset, batchSize, accumulationSteps, optimizer, clipNorm: clipNorm ?? null };
  return createHash('sha256').update(canonicalJson(shape)).digest('hex').slice(0, 32);
}

/**
 * This host's hardware as far as throughput goes: the CPU model(s) the OS reports, with the
 * architecture, and for a GPU device (one whose string starts with "GPU") the GPU models the
 * NVIDIA driver lists ("unknown" where it lists none). Workers of one host agree on it; a host
 * with another CPU or GPU model gets other signatures, so its runs never baseline each other.
 */
export function hostHardware(device: string, gpuInfoRoot = NVIDIA_GPU_INFO_ROOT): string {
  const models = [...new Set(os.cpus().map((cpu) => cpu.model.trim()).filter((model) => model.length > 0))].sort();
  const parts = [`cpu: ${models.length > 0 ? models.join(' + ') : 'unknown'} (${os.arch()})`];
  if (/^gpu\b/i.test(device)) {
    const gpus = gpuModels(gpuInfoRoot);
    parts.push(`gpu: ${gpus.length > 0 ? gpus.join(' + ') : 'unknown'}`);
  }
  return parts.join('; ');
}

const NVIDIA_GPU_INFO_ROOT = '/proc/driver/nvidia/gpus';

/** The "Model:" line of each GPU the NVIDIA driver lists under `root` (one folder per GPU), sorted. */
export function gpuModels(root: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  const models: string[] = [];
  for (const entry of entries) {
    try {
      const match = /^Model:\s*(.+)$/m.exec(readFileSync(path.join(root, entry, 'information'), 'utf8'));
      if (match) models.push(match[1]!.trim());
    } catch {
      // a GPU folder without a readable information file names no model
    }
  }
  return models.sort();
}

/** JSON with object keys sorted, so equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** samples/s on N ranks over N times the 1-rank samples/s: 1 is perfect scaling. */
export function scalingEfficiency(samplesPerSecond: number, ranks: number, oneRankSamplesPerSecond: number): number | null {
  if (!(ranks >= 1) || !(oneRankSamplesPerSecond > 0) || !(samplesPerSecond >= 0)) return null;
  return Math.round((samplesPerSecond / (ranks * oneRankSamplesPerSecond)) * 1000) / 1000;
}

const baselineSchema = z.strictObject({
  samplesPerSecond: z.number().positive(),
  experimentId: z.string().min(1),
  recordedAt: z.string().min(1),
});
export type ThroughputBaseline = z.infer<typeof baselineSchema>;

/**
 * The 1-rank samples/s of each throughput signature, shared by every worker through one Redis
 * hash (`<prefix>:throughput:1rank`), so a worker knows the figure for a spec that another
 * container ran on one rank. The figure is the latest completed 1-rank run's; workers that
 * report a different device, or run on another CPU or GPU model, get a different signature.
 */
@Injectable()
export class ThroughputBaselines implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ThroughputBaselines.name);
  private client: IORedis | null = null;

  constructor(@Inject(CONFIG) private readonly config: TfleetConfig) {}

  onModuleInit(): void {
    this.client = createRedis(this.config.redisUrl);
  }

  onModuleDestroy(): void {
    this.client?.disconnect();
  }

  private get key(): string {
    return `${this.config.queuePrefix}:throughput:1rank`;
  }

  async record(signature: string, baseline: ThroughputBaseline): Promise<void> {
    await this.client?.hset(this.key, signature, JSON.stringify(baseline));
  }

  /** The recorded 1-rank figure, or null if none (or if what Redis holds is not valid). */
  async lookup(signature: string): Promise<ThroughputBaseline | null> {
    const raw = await this.client?.hget(this.key, signature);
    if (!raw) return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    const parsed = baselineSchema.safeParse(value);
    if (!parsed.success) {
      this.logger.warn(`ignoring an invalid 1-rank throughput record for ${signature}`);
      return null;
    }
    return parsed.data;
  }
}

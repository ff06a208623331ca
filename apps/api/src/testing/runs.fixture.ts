import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { type ExperimentSpecInput, parseExperimentSpec, type RuntimeInfo } from '@tfleet/contracts';
import { ExperimentsRepository, openDatabase } from '@tfleet/persistence';

/** For API service specs: a real SQLite file with the migrations applied, and a way to add finished runs. */
export interface RunsFixture {
  repository: ExperimentsRepository;
  dataSource: DataSource;
  /** Stores a run and, unless `status` says otherwise, completes it with `test` and a validation curve. */
  addRun(spec: ExperimentSpecInput, run?: { test?: Record<string, number>; validation?: Record<string, number>[]; status?: 'completed' | 'queued' }): Promise<string>;
  close(): Promise<void>;
}

const runtime: RuntimeInfo = {
  backend: 'wasm',
  device: 'cpu (wasm simd)',
  ranks: 1,
  rankTransport: 'threads',
  seed: 1,
  tfjsVersion: '4.22.0',
  nodeVersion: process.version,
  tfleetVersion: '0.1.0',
  workerId: 'w1',
  hostname: 'h',
};

export async function openRunsFixture(): Promise<RunsFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tfleet-api-spec-'));
  const dataSource = await openDatabase(join(dir, 'tfleet.sqlite'));
  const repository = new ExperimentsRepository(dataSource);
  let clock = Date.UTC(2026, 11, 1);
  return {
    repository,
    dataSource,
    async addRun(input, run = {}) {
      const parsed = parseExperimentSpec(input);
      if (!parsed.ok) throw new Error(`fixture spec: ${JSON.stringify(parsed.issues)}`);
      const id = randomUUID();
      await repository.insertQueued(id, parsed.value);
      if (run.status === 'queued') return id;
      const at = new Date((clock += 1_000));
      await repository.markRunning(id, 1, runtime, 100, at);
      const curve = run.validation ?? [];
      for (const [i, validation] of curve.entries()) await repository.recordMetrics(id, 1, i + 1, (i + 1) * 10, { validation, train: { loss: 1 / (i + 1) } }, at);
      await repository.complete(id, 1, { test: run.test ?? {}, baselines: {}, steps: curve.length * 10, epochs: curve.length, samplesPerSecond: 1, wallTimeMs: 1, scalingEfficiency: null }, at);
      return id;
    },
    async close() {
      await dataSource.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

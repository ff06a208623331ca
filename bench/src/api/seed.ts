import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { boardOf, configKeyOf, type ExperimentSpec, type ExperimentSpecInput, parseExperimentSpec } from '@tfleet/contracts';

export interface SeedOptions {
  experiments: number;
  /** Metric points per experiment, final test points included (2 of them). */
  pointsPerExperiment: number;
  /** Deterministic data for a given seed. */
  seed: number;
}

export interface SeedResult {
  ids: string[];
  /** Ids of completed runs on the default MNIST board (compare picks from them). */
  defaultBoardIds: string[];
  points: number;
  ms: number;
}

/** A small deterministic generator (mulberry32), so two databases get the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

function specFor(rand: () => number, i: number): ExperimentSpecInput {
  const training = { learningRate: pick(rand, [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]), batchSize: pick(rand, [32, 64, 128]), seed: i % 5, epochs: 10 };
  const roll = rand();
  if (roll < 0.4) return { name: `bench-${i}`, dataset: { name: 'mnist' }, model: { family: 'cnn', denseUnits: [pick(rand, [16, 32, 64, 128])] }, training };
  if (roll < 0.6) return { name: `bench-${i}`, dataset: { name: 'mnist', samples: 2000 }, model: { family: 'cnn', denseUnits: [pick(rand, [16, 32, 64])] }, training };
  if (roll < 0.8) return { name: `bench-${i}`, dataset: { name: 'synthetic-images', classes: pick(rand, [4, 10]) }, model: { family: 'cnn' }, training };
  return { name: `bench-${i}`, dataset: { name: 'brown' }, model: { family: pick(rand, ['lstm', 'gru'] as const), units: pick(rand, [32, 64, 128]) }, training };
}

/**
 * Writes `experiments` finished runs and their metric history straight to the tables, in
 * multi-row INSERTs inside one transaction per batch (a benchmark's data, not a workload of the
 * repository's). 90% completed, the rest failed or cancelled: nothing is left for the
 * reconciler to enqueue. Each run has a validation accuracy and loss per epoch and its final
 * test accuracy and loss.
 */
export async function seedBenchData(dataSource: DataSource, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const pg = dataSource.options.type === 'postgres';
  const rand = random(options.seed);
  const epochs = Math.max(1, Math.floor((options.pointsPerExperiment - 2) / 2));
  const ids: string[] = [];
  const defaultBoardIds: string[] = [];
  const defaultKey = boardOf({ name: 'mnist' }).key;
  const base = Date.UTC(2026, 10, 1);
  let points = 0;

  const insert = async (manager: EntityManager, table: string, columns: string[], rows: unknown[][]): Promise<void> => {
    if (rows.length === 0) return;
    let n = 0;
    const tuples = rows.map((row) => `(${row.map(() => (pg ? `$${++n}` : '?')).join(', ')})`).join(', ');
    await manager.query(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples}`, rows.flat());
  };
  const stamp = (ms: number): string | Date => (pg ? new Date(ms) : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));

  const BATCH = 100;
  for (let start = 0; start < options.experiments; start += BATCH) {
    const experimentRows: unknown[][] = [];
    const metricRows: unknown[][] = [];
    for (let i = start; i < Math.min(options.experiments, start + BATCH); i++) {
      const parsed = parseExperimentSpec(specFor(rand, i));
      if (!parsed.ok) throw new Error(`bench spec ${i}: ${JSON.stringify(parsed.issues)}`);
      const spec: ExperimentSpec = parsed.value;
      const id = randomUUID();
      const roll = rand();
      const status = roll < 0.9 ? 'completed' : roll < 0.95 ? 'failed' : 'cancelled';
      const skill = 0.5 + 0.45 * rand();
      const created = base + i * 60_000;
      const finished = created + 600_000;
      const boardKey = boardOf(spec.dataset).key;
      const test = status === 'completed' ? { accuracy: skill, loss: 1 - skill + 0.05 * rand() } : null;
      experimentRows.push([id, spec.name ?? null, JSON.stringify(spec), spec.dataset.name, spec.model.family, boardKey, configKeyOf(spec), status, 1, JSON.stringify({ backend: 'wasm', ranks: 1 + (i % 2) }), 'wasm', 10_000, epochs * 10, epochs, 1000, 600_000, test ? JSON.stringify(test) : null, stamp(created), stamp(created + 1000), stamp(finished)]);
      ids.push(id);
      if (status === 'completed' && boardKey === defaultKey) defaultBoardIds.push(id);
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const progress = skill * (1 - Math.exp(-epoch / 5)) + 0.02 * (rand() - 0.5);
        metricRows.push([id, epoch, epoch * 10, 1, 'validation', 'accuracy', progress, stamp(created + epoch * 1000)]);
        metricRows.push([id, epoch, epoch * 10, 1, 'validation', 'loss', 1.5 - progress, stamp(created + epoch * 1000)]);
      }
      if (test) {
        metricRows.push([id, 0, epochs * 10, 1, 'test', 'accuracy', test.accuracy, stamp(finished)]);
        metricRows.push([id, 0, epochs * 10, 1, 'test', 'loss', test.loss, stamp(finished)]);
      } else {
        // a run that did not finish still has its points; two more validation epochs keep the count even
        for (const name of ['accuracy', 'loss']) metricRows.push([id, epochs + 1, (epochs + 1) * 10, 1, 'validation', name, 0.5, stamp(finished)]);
      }
    }
    points += metricRows.length;
    await dataSource.transaction(async (manager) => {
      await insert(manager, 'experiments', ['id', 'name', 'spec', 'datasetName', 'modelFamily', 'boardKey', 'configKey', 'status', 'attempt', 'runtime', 'backend', 'paramCount', 'steps', 'epochsCompleted', 'samplesPerSecond', 'wallTimeMs', 'testMetrics', 'createdAt', 'startedAt', 'finishedAt'], experimentRows);
      for (let m = 0; m < metricRows.length; m += 1000) {
        await insert(manager, 'experiment_metrics', ['experimentId', 'epoch', 'step', 'attempt', 'split', 'name', 'value', 'recordedAt'], metricRows.slice(m, m + 1000));
      }
    });
  }
  // PostgreSQL: what autovacuum does to a table after a bulk insert (statistics, and the visibility
  // map index-only scans need). SQLite: the API's openDatabase samples statistics at start.
  if (pg) await dataSource.query('VACUUM ANALYZE');
  return { ids, defaultBoardIds, points, ms: Date.now() - started };
}

import {
  DATASET_NAMES,
  DATASET_TASKS,
  type DatasetName,
  type ExperimentSpec,
  experimentSpecSchema,
  FAMILIES_BY_TASK,
  MODEL_FAMILIES,
  type ModelFamily,
  type ModelSpec,
  type TaskKind,
} from '@tfleet/contracts';
import { loadDataset, type TaskInfo } from '@tfleet/ml';
import { specWorkload } from './spec-workload';
import type { Workload } from './workloads';

/*
 * The `--suite zoo` listing: every model family of the zoo on every data set whose task it fits
 * (the API's own rule, FAMILIES_BY_TASK), each with the spec the API fills in from
 * `{ dataset: { name }, model: { family } }` alone, so the suite measures what a user gets by
 * default. It is derived from the contracts, not written out, so a family or data set added
 * there joins the suite by itself (the unit test pins the count and the peer's manifest).
 */

export interface ZooEntry {
  /** `family/dataset`, the name both sides of the comparison print. */
  name: string;
  family: ModelFamily;
  dataset: DatasetName;
  task: TaskKind;
  /** The validated default spec (every default filled in). */
  spec: ExperimentSpec;
}

export function zooEntryName(family: ModelFamily, dataset: DatasetName): string {
  return `${family}/${dataset}`;
}

/** Every family x fitting data set, family-major in MODEL_FAMILIES order. */
export function zooEntries(): ZooEntry[] {
  const entries: ZooEntry[] = [];
  for (const family of MODEL_FAMILIES) {
    for (const dataset of DATASET_NAMES) {
      const task = DATASET_TASKS[dataset];
      if (!FAMILIES_BY_TASK[task].includes(family)) continue;
      const spec = experimentSpecSchema.parse({ dataset: { name: dataset }, model: { family } });
      entries.push({ name: zooEntryName(family, dataset), family, dataset, task, spec });
    }
  }
  return entries;
}

/**
 * Entries whose name matches one of `patterns` (exact names, or `family/*`, `* /dataset` with
 * `*` matching any run of characters). Throws on a pattern that matches nothing, so a typo does
 * not silently measure an empty suite.
 */
export function selectZooEntries(patterns: readonly string[] | null, entries: readonly ZooEntry[] = zooEntries()): ZooEntry[] {
  if (patterns === null || patterns.length === 0) return [...entries];
  const regexes = patterns.map((p) => ({ pattern: p, regex: new RegExp(`^${p.split('*').map(escapeRegex).join('.*')}$`) }));
  for (const { pattern, regex } of regexes) {
    if (!entries.some((e) => regex.test(e.name))) throw new Error(`--entries: '${pattern}' matches no zoo entry (${entries.map((e) => e.name).join(', ')})`);
  }
  return entries.filter((e) => regexes.some(({ regex }) => regex.test(e.name)));
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** TaskInfo without the data, per data set; the loaders are deterministic, so one load serves every family. */
const infoCache = new Map<DatasetName, TaskInfo>();

/** The task's shapes and vocabularies for the default data set spec (the data is dropped). */
export function zooTaskInfo(entry: ZooEntry): TaskInfo {
  const cached = infoCache.get(entry.dataset);
  if (cached) return cached;
  const { task, inputSpecs, targetSpec, numClasses, inputVocabSize, padId, startId, endId, maskId } = loadDataset(entry.spec.dataset);
  const info: TaskInfo = { task, inputSpecs, targetSpec, numClasses, inputVocabSize, padId, startId, endId, maskId };
  infoCache.set(entry.dataset, info);
  return info;
}

/** The entry as a bench workload: zoo model, spec optimizer and batch, the task's loss, one random batch. */
export function zooWorkload(entry: ZooEntry): Workload {
  return specWorkload(entry.spec, { info: zooTaskInfo(entry), name: entry.name });
}

/**
 * What the PyTorch peer needs to build the same model (bench/peers/zoo-manifest.json): the
 * default model spec, the task's shapes, batch and optimizer, and tfjs' parameter count so the
 * peer can print both. `node dist/bench/src/zoo.js --manifest > bench/peers/zoo-manifest.json`
 * regenerates it; zoo.spec.ts fails while it is stale.
 */
export interface ZooManifestEntry {
  name: string;
  family: ModelFamily;
  dataset: DatasetName;
  task: TaskKind;
  model: ModelSpec;
  info: {
    inputs: Array<{ name: string; shape: number[]; dtype: string }>;
    target: { name: string; shape: number[]; dtype: string };
    num_classes: number;
    input_vocab_size: number | null;
    pad_id: number | null;
    start_id: number | null;
    end_id: number | null;
    mask_id: number | null;
  };
  batch: number;
  optimizer: ExperimentSpec['training']['optimizer'];
  learning_rate: number;
  params_tfjs: number;
}

export function manifestEntry(entry: ZooEntry, info: TaskInfo, paramsTfjs: number): ZooManifestEntry {
  return {
    name: entry.name,
    family: entry.family,
    dataset: entry.dataset,
    task: entry.task,
    model: entry.spec.model,
    info: {
      inputs: info.inputSpecs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype })),
      target: { name: info.targetSpec.name, shape: [...info.targetSpec.shape], dtype: info.targetSpec.dtype },
      num_classes: info.numClasses,
      input_vocab_size: info.inputVocabSize ?? null,
      pad_id: info.padId ?? null,
      start_id: info.startId ?? null,
      end_id: info.endId ?? null,
      mask_id: info.maskId ?? null,
    },
    batch: entry.spec.training.batchSize,
    optimizer: entry.spec.training.optimizer,
    learning_rate: entry.spec.training.learningRate,
    params_tfjs: paramsTfjs,
  };
}

/** Builds every entry's model once (on the active backend) to count its parameters. */
export function zooManifest(entries: readonly ZooEntry[] = zooEntries()): ZooManifestEntry[] {
  return entries.map((entry) => {
    const workload = zooWorkload(entry);
    try {
      return manifestEntry(entry, zooTaskInfo(entry), workload.model.countParams());
    } finally {
      workload.model.dispose();
    }
  });
}

if (require.main === module) {
  void (async () => {
    const { initBackend } = await import('@tfleet/ml');
    if (process.argv[2] !== '--manifest') {
      for (const e of zooEntries()) process.stdout.write(`${e.name}\n`);
      return;
    }
    await initBackend('wasm');
    process.stdout.write(`${JSON.stringify(zooManifest(), null, 1)}\n`);
  })().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

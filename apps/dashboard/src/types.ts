/** What a page leaves running (streams, timers), stopped when the page changes. */
export type Cleanup = () => void;

/** The API's JSON shapes, as far as the dashboard reads them (README, Endpoints). */
export type Status = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL: readonly Status[] = ['completed', 'failed', 'cancelled'];

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number | null;
  samplesPerSecond: number;
  etaSeconds?: number | null;
}

export interface Experiment {
  id: string;
  name: string | null;
  status: Status;
  dataset: string;
  family: string;
  spec: Record<string, unknown> & { training: { batchSize: number } };
  progress: Progress | null;
  attempt: number;
  runtime: Record<string, unknown> | null;
  paramCount: number | null;
  metrics: Record<string, number> | null;
  steps: number | null;
  epochs: number | null;
  samplesPerSecond: number | null;
  wallTimeMs: number | null;
  scalingEfficiency: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  boardKey: string;
  queue?: { state: string | null; attempts: number; failedAttempts: number | null; stalls: number | null; waitingMs: number; trainingMs: number | null; worker: string | null };
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface LiveProgress extends Progress {
  experimentId: string;
  etaSeconds: number | null;
}

export interface LiveEpoch {
  experimentId: string;
  attempt: number;
  epoch: number;
  step: number;
  train: Record<string, number>;
  validation: Record<string, number>;
}

export interface MetricHistory {
  experimentId: string;
  epochs: { epoch: number; step: number; attempt: number; train: Record<string, number>; validation: Record<string, number> }[];
  test: Record<string, number>;
}

export interface Checkpoint {
  id?: string;
  step: number;
  epoch: number;
  kind: string;
  createdAt: string;
  [key: string]: unknown;
}

export interface Board {
  key: string;
  dataset: Record<string, unknown>;
  default: boolean;
  experiments: number;
  completed: number;
  metrics: string[];
}

export interface LeaderboardEntry {
  rank: number;
  id: string;
  name: string | null;
  family: string;
  value: number;
  metrics: Record<string, number> | null;
  paramCount: number | null;
  samplesPerSecond: number | null;
  wallTimeMs: number | null;
  backend: string | null;
  ranks: number | null;
}

export interface LeaderboardGroup {
  rank: number;
  group: Record<string, unknown>;
  n: number;
  mean: number;
  std: number | null;
  min: number;
  max: number;
  ids: string[];
}

export interface Ranking {
  dataset: string;
  boardKey: string;
  metric: string;
  order?: string;
  aggregate: 'final' | 'best' | 'mean';
  entries?: LeaderboardEntry[];
  groups?: LeaderboardGroup[];
}

export interface Comparison {
  ids: string[];
  runs: { id: string; name: string | null; status: Status; dataset: string; family: string; boardKey: string; spec: Record<string, unknown>; metrics: Record<string, number> | null }[];
  differences: string[];
  differing: Record<string, unknown[]>;
  same: Record<string, unknown>;
  sameBoard: boolean;
  curves: { split: 'train' | 'validation'; metric: string; epochs: number[]; values: Record<string, (number | null)[]> }[];
}

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  backend: string;
  device: string;
  cores: number;
  maxRanks: number;
  currentExperiments: string[];
  jobsDone: number;
  startedAt: string;
  heartbeatAt: string;
  state: 'live' | 'lost' | 'stopped';
}

export interface QueueView {
  paused: boolean;
  counts: Record<string, number>;
}

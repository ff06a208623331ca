import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { backendRequestSchema, formatIssues, parseWith } from '@tfleet/contracts';

const port = z.coerce.number().int().min(0).max(65_535);
const positive = z.coerce.number().int().min(1);

/** Every environment variable tfleet reads, with its default. Documented in the README. */
export const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TFLEET_DATA_DIR: z.string().min(1).default('./data'),
  TFLEET_DB_PATH: z.string().min(1).optional(),
  /** Checkpoint store: a directory the API and every worker share (a volume, NFS); default <data dir>/artifacts. */
  TFLEET_ARTIFACTS_DIR: z.string().min(1).optional(),
  /** postgres://user:pass@host:port/db: the control plane on PostgreSQL instead of the SQLite file. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  TFLEET_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .default('tfleet'),
  /** Empty counts as unset (compose passes `${TFLEET_API_KEY:-}`): the API then generates one. */
  TFLEET_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  TFLEET_BACKEND: backendRequestSchema.default('auto'),
  TFLEET_MAX_RANKS: positive.max(256).default(availableParallelism()),
  TFLEET_WORKER_CONCURRENCY: positive.max(64).default(1),
  TFLEET_WORKER_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
  TFLEET_BARRIER_TIMEOUT_MS: positive.default(60_000),
  TFLEET_JOB_ATTEMPTS: positive.max(100).default(3),
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is taken over after it. */
  TFLEET_JOB_LOCK_MS: positive.min(2_000).max(600_000).default(30_000),
  /** How often workers look for jobs whose lock expired (stalled) and hand them back. */
  TFLEET_STALLED_INTERVAL_MS: positive.min(500).max(600_000).default(15_000),
  /** SIGTERM: how long a worker has to checkpoint its runs, hand their jobs back and exit. */
  TFLEET_SHUTDOWN_GRACE_MS: positive.min(1_000).max(600_000).default(30_000),
  /** How often the API reconciles database rows with queue jobs (and once at start). */
  TFLEET_RECONCILE_INTERVAL_MS: positive.min(1_000).max(3_600_000).default(60_000),
  /** Native backends: GPUs handed to rank processes round-robin, as CUDA_VISIBLE_DEVICES (e.g. '0,1'). */
  TFLEET_GPU_DEVICES: z
    .string()
    .regex(/^\d+(,\d+)*$/, "a comma-separated list of GPU indices such as '0,1'")
    .optional(),
  /** Native backends: TF_NUM_INTRAOP_THREADS of each rank process. */
  TFLEET_INTRA_OP_THREADS: positive.max(256).default(1),
  /** webgpu: accept a software adapter (llvmpipe, SwiftShader, a fallback adapter). For tests and CI only. */
  TFLEET_WEBGPU_ALLOW_SOFTWARE: z.enum(['0', '1']).default('0'),
  /** How long a training run may go without a report from its ranks (a step, an evaluation pass) before the attempt fails. */
  TFLEET_STEP_TIMEOUT_MS: positive.min(1_000).max(86_400_000).default(300_000),
  /** 0: no limit. Otherwise a worker stops taking jobs after this many and exits cleanly, for its supervisor to restart. */
  TFLEET_WORKER_MAX_JOBS: z.coerce.number().int().min(0).default(0),
  /** 0: no limit. Otherwise a worker whose resident memory exceeds this after a job stops taking jobs and exits cleanly. */
  TFLEET_WORKER_MAX_RSS_MB: z.coerce.number().int().min(0).default(0),
  /** Test hook, never for production: the ranks of a run's first attempt block for good before this step. */
  TFLEET_TEST_STALL_AT_STEP: z.coerce.number().int().min(0).optional(),
  TFLEET_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, "a size such as '256kb'")
    .default('256kb'),
  /** Memory the API's prediction thread may keep trained models in (weights, MiB); least recently used go first. */
  TFLEET_PREDICT_CACHE_MB: positive.max(65_536).default(256),
  /** `json`: one JSON object per log line (with experimentId, attempt, workerId where known); `text`: readable lines. */
  TFLEET_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  /** How often a live event stream (SSE) sends a comment line, so proxies keep it open. */
  TFLEET_SSE_HEARTBEAT_MS: positive.min(100).max(300_000).default(15_000),
  /** Requests per minute an API key may make unless the key sets its own rateLimit. */
  TFLEET_RATE_LIMIT_PER_MINUTE: positive.max(10_000_000).default(60_000),
});

export interface TfleetConfig {
  port: number;
  host: string;
  dataDir: string;
  dbPath: string;
  artifactsDir: string;
  /** Set: PostgreSQL at this URL holds the data (dbPath is then unused). */
  databaseUrl: string | undefined;
  redisUrl: string;
  queuePrefix: string;
  /** Unset: the API generates one and keeps it in the data directory. */
  apiKey: string | undefined;
  backend: z.infer<typeof backendRequestSchema>;
  maxRanks: number;
  workerConcurrency: number;
  workerId: string;
  barrierTimeoutMs: number;
  jobAttempts: number;
  jobLockMs: number;
  stalledIntervalMs: number;
  shutdownGraceMs: number;
  reconcileIntervalMs: number;
  bodyLimit: string;
  /** GPU indices for rank processes on tfjs-node-gpu; empty: let TensorFlow pick. */
  gpuDevices: string[];
  intraOpThreads: number;
  /** webgpu may run on a software adapter (TFLEET_WEBGPU_ALLOW_SOFTWARE=1; tests and CI only). */
  webgpuAllowSoftware: boolean;
  /** Bytes of model weights the prediction thread keeps loaded (TFLEET_PREDICT_CACHE_MB). */
  predictCacheBytes: number;
  /** A run silent this long (no step, no evaluation reported) fails its attempt. */
  stepTimeoutMs: number;
  /** Recycling: jobs before the worker exits (0: never). */
  workerMaxJobs: number;
  /** Recycling: resident MB after a job above which the worker exits (0: never). */
  workerMaxRssMb: number;
  /** Test hook (TFLEET_TEST_STALL_AT_STEP): first attempts stall at this step; null in production. */
  testStallAtStep: number | null;
  /** How the API and workers write their logs: readable text (default) or JSON lines. */
  logFormat: 'text' | 'json';
  sseHeartbeatMs: number;
  /** Requests per minute per API key, unless the key has its own limit. */
  rateLimitPerMinute: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once at start; nothing else reads process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TfleetConfig {
  const parsed = parseWith(envSchema, env);
  if (!parsed.ok) throw new ConfigError(`invalid environment: ${formatIssues(parsed.issues)}`);
  const e = parsed.value;
  const dataDir = resolve(e.TFLEET_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    dbPath: resolve(e.TFLEET_DB_PATH ?? `${dataDir}/tfleet.sqlite`),
    artifactsDir: resolve(e.TFLEET_ARTIFACTS_DIR ?? `${dataDir}/artifacts`),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.TFLEET_QUEUE_PREFIX,
    apiKey: e.TFLEET_API_KEY,
    backend: e.TFLEET_BACKEND,
    maxRanks: e.TFLEET_MAX_RANKS,
    workerConcurrency: e.TFLEET_WORKER_CONCURRENCY,
    workerId: e.TFLEET_WORKER_ID,
    barrierTimeoutMs: e.TFLEET_BARRIER_TIMEOUT_MS,
    jobAttempts: e.TFLEET_JOB_ATTEMPTS,
    jobLockMs: e.TFLEET_JOB_LOCK_MS,
    stalledIntervalMs: e.TFLEET_STALLED_INTERVAL_MS,
    shutdownGraceMs: e.TFLEET_SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: e.TFLEET_RECONCILE_INTERVAL_MS,
    bodyLimit: e.TFLEET_BODY_LIMIT,
    gpuDevices: e.TFLEET_GPU_DEVICES ? e.TFLEET_GPU_DEVICES.split(',') : [],
    intraOpThreads: e.TFLEET_INTRA_OP_THREADS,
    webgpuAllowSoftware: e.TFLEET_WEBGPU_ALLOW_SOFTWARE === '1',
    predictCacheBytes: e.TFLEET_PREDICT_CACHE_MB * 1024 * 1024,
    stepTimeoutMs: e.TFLEET_STEP_TIMEOUT_MS,
    workerMaxJobs: e.TFLEET_WORKER_MAX_JOBS,
    workerMaxRssMb: e.TFLEET_WORKER_MAX_RSS_MB,
    testStallAtStep: e.TFLEET_TEST_STALL_AT_STEP ?? null,
    logFormat: e.TFLEET_LOG_FORMAT,
    sseHeartbeatMs: e.TFLEET_SSE_HEARTBEAT_MS,
    rateLimitPerMinute: e.TFLEET_RATE_LIMIT_PER_MINUTE,
  };
}

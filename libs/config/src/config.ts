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
  TFLEET_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, "a size such as '256kb'")
    .default('256kb'),
  /** Requests per minute an API key may make unless the key sets its own rateLimit. */
  TFLEET_RATE_LIMIT_PER_MINUTE: positive.max(10_000_000).default(60_000),
});

export interface TfleetConfig {
  port: number;
  host: string;
  dataDir: string;
  dbPath: string;
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
  reconcileIntervalMs: number;
  bodyLimit: string;
  /** GPU indices for rank processes on tfjs-node-gpu; empty: let TensorFlow pick. */
  gpuDevices: string[];
  intraOpThreads: number;
  /** webgpu may run on a software adapter (TFLEET_WEBGPU_ALLOW_SOFTWARE=1; tests and CI only). */
  webgpuAllowSoftware: boolean;
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
    reconcileIntervalMs: e.TFLEET_RECONCILE_INTERVAL_MS,
    bodyLimit: e.TFLEET_BODY_LIMIT,
    gpuDevices: e.TFLEET_GPU_DEVICES ? e.TFLEET_GPU_DEVICES.split(',') : [],
    intraOpThreads: e.TFLEET_INTRA_OP_THREADS,
    webgpuAllowSoftware: e.TFLEET_WEBGPU_ALLOW_SOFTWARE === '1',
    rateLimitPerMinute: e.TFLEET_RATE_LIMIT_PER_MINUTE,
  };
}

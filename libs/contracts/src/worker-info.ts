import { z } from 'zod';
import { BACKEND_NAMES } from './experiment-spec';

/**
 * What a worker says about itself in Redis (written by apps/worker, read by the API's
 * GET /api/workers). Re-validated on every read: Redis is a boundary.
 */
export const workerInfoSchema = z.strictObject({
  id: z.string().min(1).max(200),
  host: z.string().max(255),
  pid: z.int().min(0),
  backend: z.enum(BACKEND_NAMES),
  /** The CPU model (and GPU indices, when it has some). */
  device: z.string().max(500),
  cores: z.int().min(1),
  maxRanks: z.int().min(1),
  /** Experiments it is training now (one per concurrent job). */
  currentExperiments: z.array(z.string().max(64)).max(64),
  jobsDone: z.int().min(0),
  startedAt: z.iso.datetime(),
  heartbeatAt: z.iso.datetime(),
  /** Set when it stopped cleanly; a worker that stops beating without it was lost. */
  stoppedAt: z.iso.datetime().nullable(),
  /** Its process's memory and what its last run left behind (absent from older workers). */
  memory: z
    .strictObject({
      rssMb: z.number().min(0),
      heapUsedMb: z.number().min(0),
      externalMb: z.number().min(0),
      /** Tensors (and bytes) rank 0's tfjs engine still held after its last run freed its model. */
      lastRunTensors: z.int().min(0).nullable(),
      lastRunTensorBytes: z.int().min(0).nullable(),
      jobsEnded: z.int().min(0),
    })
    .optional(),
});

export type WorkerMemory = NonNullable<z.output<typeof workerInfoSchema>['memory']>;

export type WorkerInfo = z.output<typeof workerInfoSchema>;

/** How often a worker beats; it is live while its last beat is younger than WORKER_LIVE_MS. */
export const WORKER_HEARTBEAT_MS = 5_000;
export const WORKER_LIVE_MS = 3 * WORKER_HEARTBEAT_MS;
/** How long a worker that stopped beating is still listed (as lost or stopped). */
export const WORKER_REMEMBER_MS = 3_600_000;

import { networkInterfaces } from 'node:os';
import { Queue } from 'bullmq';
import { QueueName } from '@tfleet/contracts';
import { loadConfig } from '@tfleet/config';
import { redisOptionsFromUrl } from '@tfleet/queue';

/**
 * Container health check of a worker (`node dist/apps/worker/src/healthcheck.js`): exits 0 when
 * Redis lists a BullMQ worker connection on the experiments queue from one of this host's
 * addresses, i.e. the worker in this container is consuming; 1 otherwise, with the reason.
 */
async function main(): Promise<string> {
  const config = loadConfig();
  const queue = new Queue(QueueName.Experiments, {
    connection: { ...redisOptionsFromUrl(config.redisUrl), maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null },
    prefix: config.queuePrefix,
  });
  queue.on('error', () => undefined);
  try {
    const addresses = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
    const workers = await queue.getWorkers();
    const mine = workers.filter((w) => addresses.has(String(w['addr'] ?? '').replace(/^\[?(.*?)\]?:\d+$/, '$1')));
    if (mine.length === 0) throw new Error(`no worker connection from this host among the queue's ${workers.length}`);
    return `${mine.length} worker connection(s) from this host`;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

const timer = setTimeout(() => {
  console.error('unhealthy: no answer from Redis within 5 s');
  process.exit(1);
}, 5_000);
main().then(
  (message) => {
    clearTimeout(timer);
    console.log(`healthy: ${message}`);
    process.exit(0);
  },
  (error: unknown) => {
    clearTimeout(timer);
    console.error(`unhealthy: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

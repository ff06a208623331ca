import { workerData } from 'node:worker_threads';
import { z } from 'zod';
import { initBackend, PredictionHandler } from '@tfleet/ml';

/**
 * piscina entry of the API's prediction thread: TensorFlow.js runs here, never on the API's
 * event loop. It opens no database and no Redis: the API thread sends the checkpoint when
 * this thread answers `needs-model`.
 */
const optionsSchema = z.strictObject({
  cacheBytes: z.int().min(1),
  backend: z.enum(['wasm', 'cpu']),
});

let handler: Promise<PredictionHandler> | undefined;

function start(): Promise<PredictionHandler> {
  const parsed = optionsSchema.safeParse(workerData);
  if (!parsed.success) throw new Error(`invalid prediction thread options: ${z.prettifyError(parsed.error)}`);
  const { cacheBytes, backend } = parsed.data;
  return initBackend(backend).then(() => new PredictionHandler(cacheBytes));
}

export default async function predict(message: unknown): Promise<unknown> {
  handler ??= start().catch((error: unknown) => {
    handler = undefined;
    throw error;
  });
  return (await handler).handle(message);
}

import { Inject, Injectable, type OnApplicationShutdown, ServiceUnavailableException } from '@nestjs/common';
import { Piscina } from 'piscina';
import { CONFIG, type TfleetConfig } from '@tfleet/config';
import { type PredictReply, predictReplySchema, type PredictRequest } from '@tfleet/contracts';
import { PREDICT_THREAD_ENTRY } from '../../../../workers/predict-entry-point';

/** Predictions that may wait for the thread; more are refused (503) rather than queued without bound. */
export const MAX_WAITING_PREDICTIONS = 64;

/**
 * One prediction thread (TensorFlow.js on wasm), started at the first prediction and kept
 * for its model cache (minThreads 1: piscina never retires it for being idle). One thread:
 * predictions queue behind each other instead of each thread holding its own copy of every
 * model.
 */
@Injectable()
export class PredictionPool implements OnApplicationShutdown {
  private pool: Piscina | undefined;

  constructor(@Inject(CONFIG) private readonly config: TfleetConfig) {}

  async run(request: PredictRequest): Promise<PredictReply> {
    this.pool ??= new Piscina({
      filename: PREDICT_THREAD_ENTRY,
      minThreads: 1,
      maxThreads: 1,
      maxQueue: MAX_WAITING_PREDICTIONS,
      workerData: { cacheBytes: this.config.predictCacheBytes, backend: 'wasm' },
    });
    if (this.pool.queueSize >= MAX_WAITING_PREDICTIONS) {
      throw new ServiceUnavailableException(`${this.pool.queueSize} predictions are already waiting for the prediction thread; try again shortly`);
    }
    const reply = predictReplySchema.safeParse(await this.pool.run(request));
    if (!reply.success) throw new Error('the prediction thread answered with an invalid reply');
    return reply.data;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.destroy();
  }
}

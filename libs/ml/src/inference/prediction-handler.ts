import { type PredictReply, predictRequestSchema } from '@tfleet/contracts';
import { z } from 'zod';
import { ModelCache } from './model-cache';
import { loadPredictor, PredictInputError, type Predictor } from './predictor';

/**
 * One prediction thread's work: validates each request from the API thread, answers from the
 * cached model, or asks for the checkpoint (`needs-model`) when it does not hold it. Models
 * stay cached up to `maxBytes` of weights, least recently used freed first.
 */
export class PredictionHandler {
  readonly cache: ModelCache<Predictor>;

  constructor(maxBytes: number) {
    this.cache = new ModelCache<Predictor>(maxBytes);
  }

  async handle(message: unknown): Promise<PredictReply> {
    const parsed = predictRequestSchema.safeParse(message);
    if (!parsed.success) throw new Error(`invalid prediction request: ${z.prettifyError(parsed.error)}`);
    const { modelKey, spec, input, checkpoint } = parsed.data;
    let predictor = this.cache.get(modelKey);
    let modelLoadMs: number | null = null;
    if (predictor === undefined) {
      if (checkpoint === undefined) return { status: 'needs-model' };
      const started = performance.now();
      predictor = await loadPredictor(spec, checkpoint);
      modelLoadMs = performance.now() - started;
      this.cache.set(modelKey, predictor);
    }
    try {
      return { status: 'ok', prediction: await predictor.predict(input), modelLoadMs };
    } catch (error) {
      if (error instanceof PredictInputError) return { status: 'invalid', field: error.field, message: error.message };
      throw error;
    }
  }

  dispose(): void {
    this.cache.clear();
  }
}

import * as tf from '@tensorflow/tfjs';
import type { TaskInfo } from '../data/dataset';

export interface DecodeOptions {
  /** Samples decoded together in one model call. @defaultValue 256 */
  batchSize?: number;
  /** Beams per sample; 1 is greedy decoding. @defaultValue 1 */
  beamWidth?: number;
}

interface Seq2SeqIds {
  padId: number;
  startId: number;
  endId: number;
  encoderLength: number;
  decoderLength: number;
}

function seq2seqIds(info: TaskInfo): Seq2SeqIds {
  if (info.task !== 'seq2seq') throw new Error(`decoding applies to seq2seq tasks, not ${info.task}`);
  if (info.startId === undefined || info.endId === undefined) throw new Error('decoding needs startId and endId in the task info');
  const [encoder, decoder] = info.inputSpecs;
  if (!encoder || !decoder) throw new Error('decoding needs encoder and decoder inputs');
  return {
    padId: info.padId ?? 0,
    startId: info.startId,
    endId: info.endId,
    encoderLength: encoder.shape[0],
    decoderLength: decoder.shape[0],
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer (got ${value})`);
  return value;
}

/**
 * Decodes sources with a teacher-forced seq2seq model (inputs [encoder ids, decoder ids], logits
 * [B, Td, vocab]) by feeding its own predictions back: step t runs the model on the tokens
 * chosen so far and reads position t, which a causal decoder computes from positions <= t only.
 * `sources` is the flat [N * encoderLength] id array of a split. Returns, per sample, the
 * predicted ids up to (not including) the end token. Greedy unless `beamWidth` > 1.
 * Each step's tensors are freed inside a tidy; nothing is left allocated.
 */
export async function decodeSequences(model: tf.LayersModel, info: TaskInfo, sources: Int32Array, options: DecodeOptions = {}): Promise<number[][]> {
  const ids = seq2seqIds(info);
  const batchSize = positiveInteger(options.batchSize ?? 256, 'batchSize');
  const beamWidth = positiveInteger(options.beamWidth ?? 1, 'beamWidth');
  if (sources.length % ids.encoderLength !== 0) {
    throw new Error(`sources hold ${sources.length} ids, not a multiple of the encoder length ${ids.encoderLength}`);
  }
  const count = sources.length / ids.encoderLength;
  const out: number[][] = [];
  const samplesPerCall = Math.max(1, Math.floor(batchSize / beamWidth));
  for (let start = 0; start < count; start += samplesPerCall) {
    const end = Math.min(count, start + samplesPerCall);
    const chunk = sources.subarray(start * ids.encoderLength, end * ids.encoderLength);
    out.push(...(beamWidth === 1 ? await greedyChunk(model, ids, chunk) : await beamChunk(model, ids, chunk, beamWidth)));
  }
  return out;
}

/** Log-probabilities at decoder position t for a batch of (source, decoder prefix) rows. */
async function stepLogProbs(model: tf.LayersModel, ids: Seq2SeqIds, sources: Int32Array, decoder: Int32Array, t: number): Promise<Float32Array> {
  const rows = decoder.length / ids.decoderLength;
  const step = tf.tidy(() => {
    const logits = model.predict([
      tf.tensor2d(sources, [rows, ids.encoderLength], 'int32'),
      tf.tensor2d(decoder, [rows, ids.decoderLength], 'int32'),
    ]) as tf.Tensor3D;
    const vocab = logits.shape[2];
    return tf.logSoftmax(logits.slice([0, t, 0], [rows, 1, vocab]).reshape([rows, vocab]));
  });
  // Read outside the tidy: a large typed array returned from tidy is walked element by element.
  // Asynchronously: webgpu has no synchronous read under Node.
  const values = (await step.data()) as Float32Array;
  step.dispose();
  return values;
}

async function greedyChunk(model: tf.LayersModel, ids: Seq2SeqIds, sources: Int32Array): Promise<number[][]> {
  const rows = sources.length / ids.encoderLength;
  const width = ids.decoderLength;
  const decoder = new Int32Array(rows * width).fill(ids.padId);
  const outputs: number[][] = Array.from({ length: rows }, () => []);
  const done = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) decoder[r * width] = ids.startId;
  for (let t = 0; t < width; t++) {
    const logProbs = await stepLogProbs(model, ids, sources, decoder, t);
    const vocab = logProbs.length / rows;
    let active = 0;
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logProbs[r * vocab + v] > logProbs[r * vocab + best]) best = v;
      if (best === ids.endId) {
        done[r] = 1;
        continue;
      }
      outputs[r].push(best);
      if (t + 1 < width) decoder[r * width + t + 1] = best;
      active++;
    }
    if (active === 0) break;
  }
  return outputs;
}

interface Beam {
  tokens: number[];
  logProb: number;
  finished: boolean;
}

/**
 * Beam search: keeps the `beamWidth` best prefixes per sample by total log-probability; a
 * finished hypothesis (end token chosen, or the decoder length reached) competes with
 * unfinished ones on length-normalised score, so short outputs are not favoured outright.
 */
async function beamChunk(model: tf.LayersModel, ids: Seq2SeqIds, sources: Int32Array, beamWidth: number): Promise<number[][]> {
  const samples = sources.length / ids.encoderLength;
  const width = ids.decoderLength;
  let beams: Beam[][] = Array.from({ length: samples }, () => [{ tokens: [], logProb: 0, finished: false }]);
  const finished: Beam[][] = Array.from({ length: samples }, () => []);
  for (let t = 0; t < width; t++) {
    const rowsOf: Array<{ sample: number; beam: Beam }> = [];
    beams.forEach((list, sample) => list.forEach((beam) => rowsOf.push({ sample, beam })));
    if (rowsOf.length === 0) break;
    const rowSources = new Int32Array(rowsOf.length * ids.encoderLength);
    const decoder = new Int32Array(rowsOf.length * width).fill(ids.padId);
    rowsOf.forEach(({ sample, beam }, r) => {
      rowSources.set(sources.subarray(sample * ids.encoderLength, (sample + 1) * ids.encoderLength), r * ids.encoderLength);
      decoder[r * width] = ids.startId;
      decoder.set(beam.tokens, r * width + 1);
    });
    const logProbs = await stepLogProbs(model, ids, rowSources, decoder, t);
    const vocab = logProbs.length / rowsOf.length;
    const candidates: Beam[][] = Array.from({ length: samples }, () => []);
    rowsOf.forEach(({ sample, beam }, r) => {
      // Only the top beamWidth tokens of a row can survive the cut.
      const order = Array.from({ length: vocab }, (_, v) => v)
        .sort((a, b) => logProbs[r * vocab + b] - logProbs[r * vocab + a])
        .slice(0, beamWidth);
      for (const v of order) {
        const logProb = beam.logProb + logProbs[r * vocab + v];
        if (v === ids.endId) candidates[sample].push({ tokens: beam.tokens, logProb, finished: true });
        else candidates[sample].push({ tokens: [...beam.tokens, v], logProb, finished: t + 1 >= width });
      }
    });
    beams = candidates.map((list, sample) => {
      const kept = list.sort((a, b) => b.logProb - a.logProb).slice(0, beamWidth);
      finished[sample].push(...kept.filter((b) => b.finished));
      return kept.filter((b) => !b.finished);
    });
  }
  const score = (b: Beam) => b.logProb / (b.tokens.length + 1);
  return finished.map((list, sample) => {
    const pool = list.length > 0 ? list : beams[sample];
    return pool.reduce((best, b) => (score(b) > score(best) ? b : best)).tokens;
  });
}

/*
 * Loads an exported model the way a client does: stock @tensorflow/tfjs and nothing of
 * tfleet (no project layer classes registered in this process), over HTTP with the API key,
 * then scores it on a split the test wrote to files. Prints one JSON line.
 *
 * argv[2]: JSON { url, apiKey, dir, inputShape, task: 'classification' | 'regression' };
 * dir holds inputs.f32 (samples x inputShape) and targets.f32.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const argsSchema = z.strictObject({
  url: z.url(),
  apiKey: z.string().min(1),
  dir: z.string().min(1),
  inputShape: z.array(z.int().min(1)),
  task: z.enum(['classification', 'regression']),
});

function projectClasses(): string[] {
  return Object.keys(tf.serialization.SerializationMap.getMap().classNameMap).filter((name) => name.startsWith('Tfleet'));
}

async function main(): Promise<void> {
  const args = argsSchema.parse(JSON.parse(process.argv[2] ?? ''));
  const registeredBefore = projectClasses();
  const model = await tf.loadLayersModel(args.url, { requestInit: { headers: { Authorization: `Bearer ${args.apiKey}` } } });
  const read = (file: string) => {
    const bytes = readFileSync(join(args.dir, file));
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const inputs = read('inputs.f32');
  const targets = read('targets.f32');
  const samples = targets.length;
  const output = model.predict(tf.tensor(inputs, [samples, ...args.inputShape], 'float32')) as tf.Tensor2D;
  const out = (await output.data()) as Float32Array;
  const width = output.shape[1];
  let metric = 0;
  let loss = 0;
  const predictions: number[] = [];
  for (let i = 0; i < samples; i++) {
    const row = Array.from(out.subarray(i * width, (i + 1) * width));
    if (args.task === 'regression') {
      predictions.push(row[0]!);
      loss += (row[0]! - targets[i]!) ** 2;
      continue;
    }
    // Cross-entropy of the logits in float64: log-sum-exp minus the target's logit.
    const max = Math.max(...row);
    const logSumExp = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += logSumExp - row[targets[i]!]!;
    const predicted = row.indexOf(max);
    predictions.push(predicted);
    if (predicted === targets[i]) metric++;
  }
  process.stdout.write(
    `${JSON.stringify({
      samples,
      loss: loss / samples,
      ...(args.task === 'classification' ? { accuracy: metric / samples } : { mse: loss / samples }),
      predictions,
      registeredBefore,
      layerClasses: [...new Set(model.layers.map((l) => l.getClassName()))],
      backend: tf.getBackend(),
      tfjsVersion: tf.version.tfjs,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

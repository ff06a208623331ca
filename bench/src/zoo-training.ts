import * as tf from '@tensorflow/tfjs';
import { Trainer } from '@tfleet/ml';
import { SoloCollective } from '@tfleet/parallel';
import { summedSoftmaxCrossEntropy } from './workloads';
import { selectZooEntries, zooWorkload } from './zoo';

/** One zoo entry training on its synthetic batch in this thread (the profile and A/B tools). */
export interface ZooTraining {
  readonly name: string;
  step(): Promise<void>;
  dispose(): void;
}

export function zooTraining(name: string): ZooTraining {
  const [entry] = selectZooEntries([name]);
  if (!entry) throw new Error(`no zoo entry ${name}`);
  const workload = zooWorkload(entry);
  const batch = workload.globalBatch;
  const data = workload.makeBatch(batch, 1);
  const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
  const trainer = new Trainer({ model: workload.model, optimizer, loss: workload.loss ?? summedSoftmaxCrossEntropy(), collective: new SoloCollective() });
  return {
    name: entry.name,
    step: async () => {
      await trainer.step(data.inputs, data.labels, 1 / batch);
    },
    dispose: () => {
      optimizer.dispose();
      tf.dispose([...data.inputs, data.labels]);
      workload.model.dispose();
    },
  };
}

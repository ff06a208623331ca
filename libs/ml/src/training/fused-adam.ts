import * as tf from '@tensorflow/tfjs';
import { ADAM } from '../backend/wasm-kernels/adam';

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** AdamOptimizer's state fields (private in its typings, present in tfjs 4.22). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>;
}

/**
 * tf.train.adam with the same state, weights (getWeights/setWeights, so checkpoints are
 * interchangeable), class name and float32 results, whose step is one kernel per variable
 * (backend/wasm-kernels/adam.ts) where the backend has it (wasm) instead of ~13. Elsewhere it is
 * AdamOptimizer itself.
 */
export class FusedAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon ?? tf.backend().epsilon());
  }

  override applyGradients(variableGradients: VariableGradients): void {
    const backend = tf.getBackend();
    if (backend === undefined || tf.getKernel(ADAM, backend) === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    // 1 - beta^t as the float32 subtraction AdamOptimizer does on its accumulators.
    const c1 = Math.fround(1 - state.accBeta1.dataSync()[0]);
    const c2 = Math.fround(1 - state.accBeta2.dataSync()[0]);
    const attrs = { beta1: state.beta1, beta2: state.beta2, learningRate: state.learningRate, epsilon: state.epsilon, c1, c2 };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM, { value, m, v, g: gradient }, attrs) as tf.Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}

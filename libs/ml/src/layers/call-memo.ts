import * as tf from '@tensorflow/tfjs';

/**
 * Remembers a layer's last fused call so that a repeat with the same arguments returns the same
 * output tensors instead of running the sequence kernels again.
 *
 * Why: tfjs-layers' graph executor (`execute()` in engine/executor, used by `model.apply`,
 * `predict`, `fit` and `evaluate`) visits a model's symbolic tensors, not its nodes, and calls a
 * layer's `apply` once per output it needs, keeping only the first call's results. A recurrent
 * layer with `returnState` (the seq2seq encoder) has 2 or 3 outputs, so it ran its whole forward
 * 2-3 times per step; the extra results were never used (nor differentiated) but cost the time.
 *
 * A repeat is served from the memo only when it computes the same function of the same values:
 * - the same input tensor objects with the same data (inputs, initial states, mask), and the same
 *   data behind every weight (an optimizer's `assign` gives a variable a new dataId);
 * - the same `training` flag;
 * - the same gradient tape and depth, so that a call inside `tf.variableGrads` /
 *   `optimizer.minimize` never reuses outputs that the tape did not record (the first call then
 *   is on the tape and the repeats add nothing to it: one computation, one gradient);
 * - every remembered output still alive (not disposed by a tidy or by the executor).
 * Otherwise it computes afresh and remembers that call instead. The memo owns no tensors: it never
 * keeps one alive (it holds references only, checked with `isDisposed`) and never disposes one.
 */
export class CallMemo {
  private last: { key: unknown[]; outputs: tf.Tensor[]; list: boolean } | null = null;

  /**
   * Off: every call computes (tfjs-layers' behaviour). For tests that compare against the
   * un-memoised path and for before/after measurements in one build; nothing else sets it.
   */
  static enabled = true;

  /** How many calls the memo served (for tests and profiles). */
  hits = 0;

  /**
   * `tensors`: every tensor the call reads (inputs, states, mask, weights), in a fixed order;
   * `flags`: the other values the result depends on (the training flag).
   */
  run(tensors: ReadonlyArray<tf.Tensor | null | undefined>, flags: readonly unknown[], compute: () => tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    if (!CallMemo.enabled) {
      this.last = null;
      return compute();
    }
    const state = tf.engine().state;
    const key: unknown[] = [...flags, state.activeTape, state.gradientDepth, tensors.length];
    for (const t of tensors) key.push(t ?? null, t ? t.dataId : null);

    const last = this.last;
    if (last && last.key.length === key.length && last.key.every((k, i) => k === key[i]) && last.outputs.every((t) => !t.isDisposed)) {
      this.hits++;
      return last.list ? [...last.outputs] : last.outputs[0]!;
    }
    // Drop the old entry first so that a throwing compute leaves no stale memo behind.
    this.last = null;
    const result = compute();
    const list = Array.isArray(result);
    this.last = { key, outputs: list ? [...result] : [result], list };
    return result;
  }
}

/** The mask and initial-state tensors a recurrent call reads from its kwargs (for the memo key). */
export function kwargTensors(kwargs: { [key: string]: unknown } | undefined): tf.Tensor[] {
  const found: tf.Tensor[] = [];
  for (const name of ['mask', 'initialState']) {
    const value = kwargs?.[name];
    const list = Array.isArray(value) ? value : [value];
    for (const v of list) if (v instanceof tf.Tensor) found.push(v);
  }
  return found;
}

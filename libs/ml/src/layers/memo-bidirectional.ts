import * as tf from '@tensorflow/tfjs';
import { CallMemo, kwargTensors } from './call-memo';

type BidirectionalArgs = Parameters<typeof tf.layers.bidirectional>[0];
type Bidirectional = ReturnType<typeof tf.layers.bidirectional>;
type Kwargs = Parameters<Bidirectional['call']>[1];
type FromConfig = Pick<typeof tf.layers.Layer, 'fromConfig'>;

// tfjs-layers exports factories, not the classes; subclassing needs the constructor.
const BidirectionalBase = tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 1 }) }).constructor as (new (
  args: BidirectionalArgs,
) => Bidirectional) &
  FromConfig;

/**
 * tf.layers.bidirectional (same config, weights and outputs) whose call goes through a
 * {@link CallMemo}. With returnState it has 1 + 2 x states outputs and tfjs' executor calls it
 * once per output; the inner fused layers' own memos cannot serve those repeats, because
 * Bidirectional.call runs them inside a tidy that disposes their sequence outputs (it returns
 * the merged one). Its config is Bidirectional's, so a topology renamed to `Bidirectional` loads
 * in stock tfjs (apps/api's model export does that).
 */
export class MemoBidirectional extends BidirectionalBase {
  static className = 'TfleetBidirectional';

  private readonly memo = new CallMemo();

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const weights = this.weights.map((w) => w.read());
    return this.memo.run([...list, ...kwargTensors(kwargs), ...weights], [kwargs?.['training'], list.length, tf.getBackend()], () => super.call(inputs, kwargs));
  }
}

tf.serialization.registerClass(MemoBidirectional);

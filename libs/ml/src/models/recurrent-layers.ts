import * as tf from '@tensorflow/tfjs';

type LstmArgs = Parameters<typeof tf.layers.lstm>[0];
type GruArgs = Parameters<typeof tf.layers.gru>[0];
type SimpleRnnArgs = Parameters<typeof tf.layers.simpleRNN>[0];
type Lstm = ReturnType<typeof tf.layers.lstm>;
type Gru = ReturnType<typeof tf.layers.gru>;
type SimpleRnn = ReturnType<typeof tf.layers.simpleRNN>;
type Kwargs = Parameters<tf.layers.Layer['apply']>[1];
/** What `registerClass` needs of a constructor besides `new`. */
type FromConfig = Pick<typeof tf.layers.Layer, 'fromConfig'>;

// tfjs-layers exports factories, not the classes; subclassing needs the constructors.
const LstmBase = tf.layers.lstm({ units: 1 }).constructor as (new (args: LstmArgs) => Lstm) & FromConfig;
const GruBase = tf.layers.gru({ units: 1 }).constructor as (new (args: GruArgs) => Gru) & FromConfig;
const SimpleRnnBase = tf.layers.simpleRNN({ units: 1 }).constructor as (new (args: SimpleRnnArgs) => SimpleRnn) & FromConfig;

/**
 * Recurrent layers that can take an initial state inside a model run in training mode.
 *
 * tfjs 4.22's `RNN.apply` writes the initial state into the kwargs object it is given; when a
 * model runs with `{ training: true }`, that object is shared by every layer of the graph, so
 * the next recurrent layer that takes an initial state sees a stale one and throws "When inputs
 * is an array, neither initialState or constants should be provided" (and the caller's object is
 * modified). These subclasses hand each call its own copy. Used for decoder layers, the ones
 * whose initial state comes from the encoder. The model zoo now builds its recurrent layers as
 * FusedSimpleRNN / FusedLSTM / FusedGRU (layers/fused-simple-rnn.ts, layers/fused-recurrent.ts,
 * which copy their kwargs the same way); these stay registered so models saved with them still
 * load.
 */
class StateInitLSTM extends LstmBase {
  static className = 'TfleetStateInitLSTM';
  override apply(inputs: Parameters<Lstm['apply']>[0], kwargs?: Kwargs): ReturnType<Lstm['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }
}
tf.serialization.registerClass(StateInitLSTM);

class StateInitGRU extends GruBase {
  static className = 'TfleetStateInitGRU';
  override apply(inputs: Parameters<Gru['apply']>[0], kwargs?: Kwargs): ReturnType<Gru['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }
}
tf.serialization.registerClass(StateInitGRU);

export class StateInitSimpleRNN extends SimpleRnnBase {
  static className = 'TfleetStateInitSimpleRNN';
  override apply(inputs: Parameters<SimpleRnn['apply']>[0], kwargs?: Kwargs): ReturnType<SimpleRnn['apply']> {
    return super.apply(inputs, kwargs === undefined ? kwargs : { ...kwargs });
  }
}
tf.serialization.registerClass(StateInitSimpleRNN);

/**
 * Runs units of work one at a time, in arrival order.
 *
 * TypeORM's sqlite driver has exactly one connection: a transaction is a BEGIN on it, so two
 * transactions that overlap (an HTTP submission and a run event, say) nest ("cannot start a
 * transaction within a transaction"), and a plain write issued while another unit's
 * transaction is open joins that transaction and is lost if it rolls back. Every write of the
 * repository therefore goes through one serializer per data source.
 */
export class WriteSerializer {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(work: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(work, work);
    // The chain goes on whether this unit succeeded or not; its caller sees its own outcome.
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }

  /** Units submitted and not finished yet (for tests and diagnostics). */
  get pending(): number {
    return this.waiting;
  }
}

/** One serializer per data source, shared by every repository built on it (experiments, API keys). */
const serializers = new WeakMap<object, WriteSerializer>();

export function writeSerializerFor(dataSource: object): WriteSerializer {
  let serializer = serializers.get(dataSource);
  if (!serializer) {
    serializer = new WriteSerializer();
    serializers.set(dataSource, serializer);
  }
  return serializer;
}

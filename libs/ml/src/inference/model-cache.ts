/** What the cache holds: anything that knows its size and can be freed. */
export interface Sized {
  readonly bytes: number;
  dispose(): void;
}

/**
 * Least-recently-used cache bounded by bytes. An entry larger than the whole bound is still
 * kept (alone) while it is in use: a model must be loaded to answer at all.
 */
export class ModelCache<T extends Sized> {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly entries = new Map<string, T>();
  private held = 0;

  constructor(readonly maxBytes: number) {
    if (!(Number.isInteger(maxBytes) && maxBytes > 0)) throw new Error(`cache bound must be a positive integer of bytes (got ${maxBytes})`);
  }

  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Adds an entry, then frees least recently used ones until the bound holds (or only it is left). */
  set(key: string, entry: T): void {
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.held -= previous.bytes;
      if (previous !== entry) previous.dispose();
    }
    this.entries.set(key, entry);
    this.held += entry.bytes;
    for (const [oldKey, old] of this.entries) {
      if (this.held <= this.maxBytes || oldKey === key) break;
      this.entries.delete(oldKey);
      this.held -= old.bytes;
      old.dispose();
    }
  }

  clear(): void {
    for (const entry of this.entries.values()) entry.dispose();
    this.entries.clear();
    this.held = 0;
  }
}

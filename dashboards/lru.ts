/**
 * A least-recently-used map of strings bounded in entries and in bytes (UTF-8 length of the values). A value
 * larger than the byte bound is not stored. Map iteration order is insertion order: a hit re-inserts its key,
 * so the first key is always the least recently used.
 */
export class LruCache {
  private readonly map = new Map<string, { value: string; bytes: number }>();
  private size = 0;
  /** Lookups that found a value (for tests and the benchmark). */
  hits = 0;

  constructor(readonly maxEntries: number, readonly maxBytes: number) {}

  get(key: string): string | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    this.hits++;
    return e.value;
  }

  set(key: string, value: string): void {
    this.delete(key);
    const bytes = Buffer.byteLength(value);
    if (bytes > this.maxBytes || this.maxEntries < 1) return;
    while (this.map.size >= this.maxEntries || this.size + bytes > this.maxBytes) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.map.set(key, { value, bytes });
    this.size += bytes;
  }

  clear(): void {
    this.map.clear();
    this.size = 0;
  }

  get entries(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.size;
  }

  private delete(key: string): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.map.delete(key);
    this.size -= e.bytes;
  }
}

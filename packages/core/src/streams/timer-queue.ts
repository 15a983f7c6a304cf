/**
 * Event-time timers: entries grouped by time, the times in a binary min-heap. Aligned windows
 * share a handful of end times across all keys, so a timer is usually one array push.
 */
export class TimerQueue<E> {
  private readonly heap: number[] = [];
  private readonly byTime = new Map<number, E[]>();

  /** Number of distinct times pending. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest pending time, or +Infinity. */
  peek(): number {
    return this.heap.length > 0 ? (this.heap[0] as number) : Number.POSITIVE_INFINITY;
  }

  add(time: number, entry: E): void {
    const list = this.byTime.get(time);
    if (list) {
      list.push(entry);
      return;
    }
    this.byTime.set(time, [entry]);
    const heap = this.heap;
    let i = heap.length;
    heap.push(time);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as number;
      if (p <= time) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = time;
  }

  /** Removes and returns the entries of the earliest time if it is `<= upTo`, else undefined. */
  pollDue(upTo: number): { time: number; entries: E[] } | undefined {
    if (this.heap.length === 0 || (this.heap[0] as number) > upTo) return undefined;
    const time = this.popTime();
    const entries = this.byTime.get(time) ?? [];
    this.byTime.delete(time);
    return { time, entries };
  }

  clear(): void {
    this.heap.length = 0;
    this.byTime.clear();
  }

  private popTime(): number {
    const heap = this.heap;
    const top = heap[0] as number;
    const last = heap.pop() as number;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (heap[r] as number) < (heap[l] as number) ? r : l;
        if ((heap[c] as number) >= last) break;
        heap[i] = heap[c] as number;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}

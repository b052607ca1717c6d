/**
 * An unbounded single-consumer async queue: producers `push` without waiting, the consumer
 * iterates. Ending the iteration early (`break`) drops what is queued and what comes later.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiting: ((result: IteratorResult<T, undefined>) => void)[] = [];
  #ended = false;
  #dropped = false;

  push(item: T): void {
    if (this.#ended || this.#dropped) return;
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.#items.push(item);
  }

  /** No more items; the consumer sees the end after draining what is queued. */
  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#ended || this.#dropped) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#dropped = true;
    this.#items = [];
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

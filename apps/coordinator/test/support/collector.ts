import { poll } from "./harness.js";

interface Unsubscribable {
  unsubscribe(): void;
}

interface Handlers<T> {
  onData: (value: T) => void;
  onError: (error: unknown) => void;
  onComplete: () => void;
}

/** Collects what a subscription sends, so a test can wait (boundedly) for what it expects. */
export class Collector<T> {
  readonly items: T[] = [];
  readonly errors: unknown[] = [];
  completed = false;
  private readonly subscription: Unsubscribable;

  constructor(subscribe: (handlers: Handlers<T>) => Unsubscribable) {
    this.subscription = subscribe({
      onData: (value) => this.items.push(value),
      onError: (error) => this.errors.push(error),
      onComplete: () => {
        this.completed = true;
      },
    });
  }

  /** Waits until `done(items)` holds; fails (naming `what`) after `tries` polls or on an error. */
  async until(done: (items: T[]) => boolean, what: string, tries = 200): Promise<T[]> {
    await poll(
      async () => {
        if (this.errors.length) throw this.errors[0];
        return done(this.items);
      },
      { tries, what },
    );
    return this.items;
  }

  /** Waits for the subscription's first error (a refused subscription). */
  async error(what: string, tries = 200): Promise<unknown> {
    return poll(async () => this.errors[0], { tries, what });
  }

  stop(): void {
    this.subscription.unsubscribe();
  }

  /** `using feed = new Collector(…)`: unsubscribes at the end of the scope. */
  [Symbol.dispose](): void {
    this.stop();
  }
}

/**
 * Long-poll wake-ups for GET /v1/events?wait=…: requests waiting on an
 * account are released as soon as the store reports a commit for it
 * (Store.subscribe — in-process for SQLite, LISTEN/NOTIFY for PostgreSQL).
 *
 * A waiter is registered BEFORE the feed is read, so a hit committed between
 * the read and the wait still wakes it (no lost wake-up).
 */
import type { Metrics } from './metrics.ts';
import type { Store } from './store/types.ts';

export interface Ticket {
  /** Resolves on a commit for the account, on timeout, on cancel or on shutdown. */
  wait(ms: number): Promise<void>;
  cancel(): void;
}

export class FeedWaiters {
  private waiters = new Map<string, Set<() => void>>();
  private unsubscribe: () => void;
  private isClosed = false;

  constructor(
    store: Store,
    private metrics: Metrics,
  ) {
    this.unsubscribe = store.subscribe((accounts) => {
      for (const account of accounts) {
        const set = this.waiters.get(account);
        if (set) for (const wake of [...set]) wake();
      }
    });
  }

  ticket(account: string): Ticket {
    let woken = this.isClosed;
    let release: (() => void) | null = null;
    let timer: NodeJS.Timeout | null = null;
    const wake = () => {
      woken = true;
      release?.();
    };
    let set = this.waiters.get(account);
    if (!set) this.waiters.set(account, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      if (timer) clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(account) === set) this.waiters.delete(account);
      release?.();
    };
    return {
      cancel,
      wait: (ms) => {
        if (woken) return Promise.resolve();
        this.metrics.longPolls.inc();
        return new Promise<void>((resolve) => {
          release = () => {
            release = null;
            resolve();
          };
          timer = setTimeout(wake, ms);
        }).finally(() => {
          if (timer) clearTimeout(timer);
          this.metrics.longPolls.dec();
        });
      },
    };
  }

  /**
   * True once shutdown began: every ticket's wait() then resolves at once, so a
   * caller that loops on wait() must stop looping and answer (else it would
   * spin through microtasks until its deadline, blocking the event loop).
   */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Releases every held request (shutdown). */
  close(): void {
    this.isClosed = true;
    this.unsubscribe();
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
    this.waiters.clear();
  }
}

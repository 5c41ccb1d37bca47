/**
 * A store that cannot write (a full disk, I/O errors) says so, and API calls
 * fail at once instead of waiting for it (issue 13: on a full disk API calls
 * waited 10–20 s for hits that could not be applied, then answered 500, while
 * /healthz said ok).
 *
 * StoreFailures keeps what is failing, by source (the SQLite store's: `log`,
 * the hit log's frames; `database`, its own connection's writes), each with a
 * sentence; while one is failing a probe retries it every PROBE_MS, so the
 * store says it recovered once the disk has room again even when nothing else
 * writes. `withFailures` puts it in front of a store's API methods.
 */
import { StoreUnavailableError, type Store } from './types.ts';

/** How often a failing source is tried again. */
export const PROBE_MS = 1000;

export class StoreFailures {
  private failures = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    /** Tries each failing source again; calls mark() or clear() for it. */
    private probe: (sources: ReadonlySet<string>) => Promise<void>,
    /** Failures another part keeps (the ingest worker's), read each time. */
    private others: () => string | null,
    private report: { failing(message: string): void; recovered(message: string): void },
  ) {}

  mark(source: string, message: string): void {
    const known = this.failures.get(source);
    this.failures.set(source, message);
    if (known === undefined) this.report.failing(message);
    if (!this.timer) {
      this.timer = setInterval(() => void this.retry(), PROBE_MS);
      this.timer.unref();
    }
  }

  clear(source: string): void {
    // The pixel's path calls this for every group: nothing to do most of the time.
    if (this.failures.size === 0) return;
    const known = this.failures.get(source);
    if (known === undefined) return;
    this.failures.delete(source);
    this.report.recovered(`recovered from: ${known}`);
    if (this.failures.size === 0) this.stop();
  }

  /** Why the store cannot store now, or null. */
  message(): string | null {
    const all = [...this.failures.values()];
    const other = this.others();
    if (other !== null) all.push(other);
    return all.length === 0 ? null : all.join('; ');
  }

  /** Throws StoreUnavailableError while the store is failing. */
  admit(): void {
    if (this.failures.size === 0 && this.others() === null) return;
    throw new StoreUnavailableError(this.message()!);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async retry(): Promise<void> {
    if (this.probing || this.failures.size === 0) return;
    this.probing = true;
    try {
      await this.probe(new Set(this.failures.keys()));
    } catch {
      // A probe reports through mark(); anything else it throws changes nothing.
    } finally {
      this.probing = false;
    }
  }
}

/**
 * Errors that say the database cannot be written now, not that a request is
 * wrong: https://www.sqlite.org/rescode.html (SQLITE_FULL, SQLITE_IOERR_*,
 * SQLITE_READONLY_*, SQLITE_CANTOPEN), and Node's for the files beside it.
 */
export function isStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code) || code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT' || code === 'EROFS';
}

/**
 * Store methods that stay as they are: the pixel's (it answers its GIF
 * whatever happens and reads what the database holds), the synchronous ones,
 * and housekeeping. Every other method is the API's, also methods added later
 * (each returns a promise).
 */
const UNGUARDED = new Set(['recordHits', 'trackerContext', 'subscribe', 'ping', 'pendingBytes', 'failing', 'close', 'deleteHitsBefore', 'listTrackers']);

/**
 * The store with its API methods failing at once (StoreUnavailableError,
 * answered 503) while it is failing, and a storage error from one of them
 * (the database's own writes) marked as the `database` source.
 */
export function withFailures(store: Store, failures: StoreFailures): Store {
  const wrapped: Store = { ...store };
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== 'function' || UNGUARDED.has(name)) continue;
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      failures.admit();
      try {
        return await (method as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } catch (error) {
        if (!isStorageError(error)) throw error;
        const message = `the database cannot be written: ${error instanceof Error ? error.message : String(error)}`;
        failures.mark('database', message);
        throw new StoreUnavailableError(message);
      }
    };
  }
  return wrapped;
}

/**
 * Prometheus metrics (prom-client), one registry per server so several
 * servers in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type PixelOutcome = 'stored' | 'dropped' | 'unknown' | 'malformed' | 'error';

export interface Metrics {
  registry: Registry;
  hits: Counter<'kind'>;
  pixels: Counter<'outcome'>;
  pixelSeconds: Histogram;
  requestSeconds: Histogram<'route' | 'status'>;
  storeErrors: Counter<'operation'>;
  longPolls: Gauge;
  batchSize: Histogram;
  /** Connections the pixel's fast path gave to node:http (fastpath.ts): every API client, and unusual pixel fetches. */
  handOvers: Counter;
  /** Reads the store's backlog of recorded hits not yet applied (SQLite's hit log) when scraped. */
  watchBacklog(read: () => number): void;
  /**
   * Per-request increments of hits/pixels: tallied in plain numbers and added
   * to the counters when they are read (prom-client's collect hook), because
   * a labelled inc() hashes its labels on every call — the pixel's hot path.
   */
  hitsOf(kind: string): Tally;
  pixelsOf(outcome: PixelOutcome): Tally;
  /** Client networks found in the pixel's network cache (`hit`) or looked up in the network data (`miss`). */
  networkLookupsOf(result: 'hit' | 'miss'): Tally;
  /** Reads the network cache's size when scraped. */
  watchNetworkCache(read: () => number): void;
}

export interface Tally {
  inc(): void;
}

class Tallies {
  private tallies = new Map<string, { n: number; inc(): void }>();

  of(value: string): Tally {
    let tally = this.tallies.get(value);
    if (!tally) {
      const made = {
        n: 0,
        inc() {
          made.n++;
        },
      };
      tally = made;
      this.tallies.set(value, tally);
    }
    return tally;
  }

  flush<L extends string>(counter: Counter<L>, label: L): void {
    for (const [value, tally] of this.tallies) {
      if (tally.n === 0) continue;
      counter.inc({ [label]: value } as Partial<Record<L, string>>, tally.n);
      tally.n = 0;
    }
  }
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  let backlog: () => number = () => 0;
  let networkEntries: () => number = () => 0;
  new Gauge({
    name: 'openping_hit_log_pending_bytes',
    help: 'SQLite: bytes of durably recorded hits not yet applied to the database (the ingest worker runs when a core is free; reads of hits wait for it)',
    registers: [registry],
    collect() {
      this.set(backlog());
    },
  });
  collectDefaultMetrics({ register: registry, prefix: 'openping_' });
  const hitTallies = new Tallies();
  const pixelTallies = new Tallies();
  const networkTallies = new Tallies();
  const networkLookups: Counter<'result'> = new Counter({
    name: 'openping_network_cache_lookups_total',
    help: 'Pixel client networks (/24 or /48) by result: hit (cached) or miss (looked up in the ASN and geo data)',
    labelNames: ['result'],
    registers: [registry],
    collect: () => networkTallies.flush(networkLookups, 'result'),
  });
  new Gauge({
    name: 'openping_network_cache_entries',
    help: 'Client networks and peers in the pixel network cache (emptied when it reaches its bound)',
    registers: [registry],
    collect() {
      this.set(networkEntries());
    },
  });
  const hits: Counter<'kind'> = new Counter({
    name: 'openping_hits_total',
    help: 'Hits stored, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect: () => hitTallies.flush(hits, 'kind'),
  });
  const pixels: Counter<'outcome'> = new Counter({
    name: 'openping_pixel_requests_total',
    help: 'Pixel requests by outcome: stored, dropped (flood cap), unknown tracker, malformed path, error (store failed)',
    labelNames: ['outcome'],
    registers: [registry],
    collect: () => pixelTallies.flush(pixels, 'outcome'),
  });
  return {
    registry,
    hits,
    pixels,
    hitsOf: (kind) => hitTallies.of(kind),
    pixelsOf: (outcome) => pixelTallies.of(outcome),
    networkLookupsOf: (result) => networkTallies.of(result),
    watchNetworkCache(read) {
      networkEntries = read;
    },
    pixelSeconds: new Histogram({
      name: 'openping_pixel_duration_seconds',
      help: 'Pixel latency, from request to response (includes the durable commit)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'openping_http_request_duration_seconds',
      help: 'API request latency by route and status (long-polls included)',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 26],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'openping_store_errors_total',
      help: 'Store operations that failed',
      labelNames: ['operation'],
      registers: [registry],
    }),
    longPolls: new Gauge({ name: 'openping_long_polls', help: 'Events requests currently held open', registers: [registry] }),
    handOvers: new Counter({
      name: 'openping_fastpath_handovers_total',
      help: 'Connections handed from the pixel fast path to node:http (API requests, and pixel requests it does not serve itself)',
      registers: [registry],
    }),
    watchBacklog(read) {
      backlog = read;
    },
    batchSize: new Histogram({
      name: 'openping_commit_batch_size',
      help: 'Hits per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
  };
}

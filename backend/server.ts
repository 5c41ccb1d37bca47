/**
 * The tracking server (SPEC §3–§4): opens the store and the IP data, serves
 * the route table of ./http.ts, runs the retention job, and shuts down
 * gracefully (stop accepting, release long-polls, finish in-flight commits,
 * close the database).
 *
 * The public listener is the pixel's fast path (./fastpath.ts), a net.Server;
 * node:http serves everything else on the connections it is handed and never
 * listens itself.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { OwnNetworks } from './anysend.ts';
import { DEFAULTS, type Config } from './config.ts';
import { FastPath } from './fastpath.ts';
import { FeedWaiters } from './feed.ts';
import { ForwardingWatch, logConfigWarnings } from './health.ts';
import { createDispatcher, sendError, type App } from './http.ts';
import { loadIpData } from './ipdata/index.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { ContextCache, GroupCommit, NetworkCache, SHARED_CONTEXT_TTL_MS } from './pixel.ts';
import { openStore } from './store/index.ts';
import type { Store } from './store/types.ts';

const DAY = 24 * 3_600_000;
const RETENTION_EVERY_MS = 3_600_000;
const SHUTDOWN_GRACE_MS = 5_000;
const SHUTDOWN_SWEEP_MS = 25;
// SQLite commits synchronously and shares one fsync among the batches waiting for it, so a batch in
// flight only waits on the disk; PostgreSQL runs each batch on its own pooled connection.
const SQLITE_COMMITS_IN_FLIGHT = 64;
const POSTGRES_COMMITS_IN_FLIGHT = 4;

export interface OpenPingServer {
  listen(): Promise<{ port: number; host: string; url: string }>;
  close(): Promise<void>;
  /** Available once listen() resolved. */
  readonly store: Store;
  readonly metrics: Metrics;
  /** Runs the retention job now; returns hits deleted. */
  runRetention(): Promise<number>;
}

export interface ServerDeps {
  logger?: Logger;
  /** An already-open store (tests); otherwise config.db is opened. */
  store?: Store;
  /** The clock that stamps each pixel fetch (tests place fetches on a case's timeline with it); Date.now otherwise. */
  now?: () => number;
}

/** Node's default answer to a broken request is bare text; keep the JSON error shape, and never a 5xx. */
function answerBrokenRequest(code: string | undefined, socket: Duplex): void {
  if (!socket.writable || code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, error, text] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'Request headers are too large.']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'timeout', 'The request took too long to arrive.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error, message: text });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function createServer(options: Partial<Config> = {}, deps: ServerDeps = {}): OpenPingServer {
  const config: Config = { ...DEFAULTS, ...options };
  const log = deps.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  let app: App | null = null;
  let http: Server | null = null;
  let fast: FastPath | null = null;
  let retentionTimer: NodeJS.Timeout | null = null;
  let closing: Promise<void> | null = null;
  const sockets = new Set<Socket>();

  const runRetention = async (): Promise<number> => {
    if (!app) return 0;
    try {
      const deleted = await app.store.deleteHitsBefore(Date.now() - config.retentionDays * DAY);
      if (deleted > 0) log.info({ deleted, retentionDays: config.retentionDays }, 'retention: old hits deleted');
      return deleted;
    } catch (error) {
      metrics.storeErrors.inc({ operation: 'retention' });
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'retention job failed');
      return 0;
    }
  };

  return {
    get store() {
      if (!app) throw new Error('The server is not listening yet.');
      return app.store;
    },
    metrics,
    runRetention,

    async listen() {
      const onStoreError = (message: string) => {
        metrics.storeErrors.inc({ operation: 'ingest' });
        log.error({ err: message }, 'store: recovering from an error');
      };
      const onStoreRecovered = (message: string) => log.warn({ detail: message }, 'store: working again');
      const [store] = await Promise.all([
        deps.store ??
          openStore(config.db, {
            floodCapPerHour: config.floodCapPerHour,
            accountHitsPerHour: config.accountHitsPerHour,
            trackersPerDay: config.trackersPerDay,
            selfViewsPerMinute: config.selfViewsPerMinute,
            onError: onStoreError,
            onRecovered: onStoreRecovered,
          }),
        loadIpData(),
      ]);
      if (store.pendingBytes) metrics.watchBacklog(() => store.pendingBytes!());
      const proxy = { trust: config.trustProxy, header: config.proxyHeader };
      const forwarding = new ForwardingWatch(proxy, log);
      app = {
        config,
        store,
        metrics,
        log,
        contexts: new ContextCache(store, store.kind === 'sqlite' ? Number.POSITIVE_INFINITY : SHARED_CONTEXT_TTL_MS),
        commits: new GroupCommit(store, metrics, store.kind === 'sqlite' ? SQLITE_COMMITS_IN_FLIGHT : POSTGRES_COMMITS_IN_FLIGHT),
        networks: new NetworkCache(proxy, metrics),
        // SQLite: every note goes through this process, so entries only age (hourly); PostgreSQL: as contexts.
        ownNetworks: new OwnNetworks(store, store.kind === 'sqlite' ? 3_600_000 : SHARED_CONTEXT_TTL_MS, log),
        feed: new FeedWaiters(store, metrics),
        forwarding,
        now: deps.now ?? Date.now,
      };
      const server = createHttpServer(
        {
          maxHeaderSize: config.maxHeaderBytes,
          requestTimeout: config.requestTimeoutMs,
          headersTimeout: config.headersTimeoutMs,
          // Node checks those timeouts on this interval (default 30 s); a slow client must not linger that long.
          connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
        },
        createDispatcher(app),
      );
      server.keepAliveTimeout = config.keepAliveTimeoutMs;
      server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerBrokenRequest(error.code, socket));
      const fastPath = new FastPath({
        http: server,
        deps: app,
        maxHeaderBytes: config.maxHeaderBytes,
        headersTimeoutMs: config.headersTimeoutMs,
        keepAliveTimeoutMs: config.keepAliveTimeoutMs,
        answerError: (socket, code) => answerBrokenRequest(code, socket),
        onHandOver: () => metrics.handOvers.inc(),
        onForwarded: (peer) => forwarding.saw(peer),
      });
      const listener = fastPath.server;
      listener.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      http = server;
      fast = fastPath;
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(config.port, config.host, () => {
          listener.off('error', reject);
          resolve();
        });
      });
      retentionTimer = setInterval(() => void runRetention(), RETENTION_EVERY_MS);
      retentionTimer.unref();
      setTimeout(() => void runRetention(), 1000).unref();
      const { port } = listener.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `http://${host}:${port}`;
      log.info({ url, publicUrl: config.publicUrl, store: store.kind }, 'OpenPing server listening');
      logConfigWarnings(config, log);
      return { port, host: config.host, url };
    },

    close() {
      closing ??= (async () => {
        if (retentionTimer) clearInterval(retentionTimer);
        const server = http;
        const fastPath = fast;
        const current = app;
        if (server && fastPath) {
          // Resolves once every connection, handed over or not, has closed.
          const stopped = new Promise<void>((resolve) => fastPath.server.close(() => resolve()));
          current?.feed.close();
          fastPath.shutdown();
          // Stops node:http's timeout checks and closes its idle connections (it never listened, so no callback).
          server.close();
          // Connections answered from now on (released long-polls, pixels whose commit finishes)
          // turn idle under keep-alive; close them as they do instead of waiting out keepAliveTimeout.
          const sweep = setInterval(() => server.closeIdleConnections(), SHUTDOWN_SWEEP_MS);
          const grace = setTimeout(() => {
            for (const socket of sockets) socket.destroy();
          }, SHUTDOWN_GRACE_MS);
          grace.unref();
          await stopped;
          clearInterval(sweep);
          clearTimeout(grace);
        }
        if (current) {
          await current.commits.drain();
          if (!deps.store) await current.store.close();
        }
        log.info('OpenPing server stopped');
      })();
      return closing;
    },
  };
}

export { sendError };

/**
 * The pixel's raw-socket fast path (backend/fastpath.ts) over a real port with
 * raw sockets: the same bytes as node:http, pipelining, heads in pieces,
 * hand-over to node:http mid-connection, timeouts, limits, client address —
 * and a differential check of its head parser against node:http's llhttp.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { FastRequest, HAND_OVER, INCOMPLETE, scanHead } from '../../backend/fastpath.ts';
import { originForm } from '../../backend/http.ts';
import type { PixelHeaderName } from '../../backend/pixel.ts';
import { newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';

const GIF_BASE64 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==';
const HEADERS_TIMEOUT_MS = 500;
const KEEP_ALIVE_TIMEOUT_MS = 1000;

interface Reply {
  status: number;
  /** The head as sent, status line to blank line. */
  head: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A raw client connection that reads back responses one at a time, framed by the request method. */
class Raw {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  private data = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private isClosed = false;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake?.();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Everything received and not yet taken by next(). */
  get rest(): Buffer {
    return this.data;
  }

  /** The next response; `method` says whether it has a body (HEAD: none). */
  async next(method = 'GET', timeoutMs = 5000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.take(method);
      if (reply) return reply;
      if (this.isClosed) throw new Error(`connection closed; had ${JSON.stringify(this.data.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response in ${timeoutMs} ms; had ${JSON.stringify(this.data.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private take(method: string): Reply | null {
    const end = this.data.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.data.toString('latin1', 0, end + 4);
    const [statusLine, ...lines] = head.slice(0, -4).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (headers['transfer-encoding']) throw new Error(`unexpected chunked response: ${head}`);
    const length = method === 'HEAD' || status < 200 || status === 204 || status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    if (this.data.length < end + 4 + length) return null;
    const body = this.data.subarray(end + 4, end + 4 + length);
    this.data = this.data.subarray(end + 4 + length);
    return { status, head, headers, body: Buffer.from(body) };
  }

  close(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectGif(reply: Reply, method = 'GET'): void {
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('image/gif');
  expect(reply.headers['content-length']).toBe('43');
  expect(reply.headers['cache-control']).toBe('no-cache, no-store, must-revalidate, max-age=0');
  expect(reply.body.toString('base64')).toBe(method === 'HEAD' ? '' : GIF_BASE64);
}

/** A head without its Date line, which is the only part that may differ between two answers. */
const withoutDate = (reply: Reply) => reply.head.replace(/\r\nDate: [^\r]*/, '');

let s: Running;
let acc: Account;
let tracker: string;
let pixel: string;

async function handOvers(server: Running = s): Promise<number> {
  return (await server.server.metrics.handOvers.get()).values[0]?.value ?? 0;
}

async function hits(account = acc.account, id = tracker, server: Running = s) {
  return server.server.store.trackerHits(account, id);
}

beforeAll(async () => {
  s = await startTestServer({
    accountsPerHour: 1000,
    floodCapPerHour: 100_000,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: 1000,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  });
  acc = await newAccount(s.url);
  tracker = trackerId();
  await putTracker(s.url, acc, tracker);
  pixel = `/p/${acc.account}/${tracker}.gif`;
});
afterAll(async () => {
  await s.stop();
});

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ping.example\r\n${extra}\r\n`;
const head = (path: string, extra = '') => `HEAD ${path} HTTP/1.1\r\nHost: ping.example\r\n${extra}\r\n`;

describe('the fast path answers', () => {
  it('with the bytes node:http sends for the pixel, GET and HEAD, and records each hit', async () => {
    const before = (await hits()).length;
    const handed = await handOvers();
    const fast = new Raw(s.url);
    fast.write(get(pixel, 'User-Agent: Mozilla/5.0\r\n'));
    const fastGet = await fast.next();
    fast.write(head(pixel));
    const fastHead = await fast.next('HEAD');
    expect(await handOvers()).toBe(handed);

    // The same requests on a connection node:http owns (handed over by its first request, an API call).
    const node = new Raw(s.url);
    node.write(get('/healthz'));
    expect((await node.next()).status).toBe(200);
    expect(await handOvers()).toBe(handed + 1);
    node.write(get(pixel, 'User-Agent: Mozilla/5.0\r\n'));
    const nodeGet = await node.next();
    node.write(head(pixel));
    const nodeHead = await node.next('HEAD');

    expectGif(fastGet);
    expectGif(fastHead, 'HEAD');
    expect(withoutDate(fastGet)).toBe(withoutDate(nodeGet));
    expect(withoutDate(fastHead)).toBe(withoutDate(nodeHead));
    expect(fastGet.body.equals(nodeGet.body)).toBe(true);
    expect(withoutDate(fastGet)).toBe(
      'HTTP/1.1 200 OK\r\ncontent-type: image/gif\r\ncontent-length: 43\r\n' +
        'cache-control: no-cache, no-store, must-revalidate, max-age=0\r\npragma: no-cache\r\nexpires: 0\r\n' +
        'x-content-type-options: nosniff\r\ncross-origin-resource-policy: cross-origin\r\n' +
        `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`,
    );
    expect(fastGet.headers.date).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(Math.abs(Date.parse(fastGet.headers.date!) - Date.now())).toBeLessThan(5000);
    // Nothing after the HEAD answer: it had no body.
    expect(fast.rest.length).toBe(0);
    const stored = await hits();
    expect(stored.length - before).toBe(4);
    // Hits of one millisecond have no set order (their ids are time + random bits).
    const recent = stored.slice(-4).map((h) => `${h.signals.method} ${h.signals.userAgent}`);
    expect(recent.sort()).toEqual(['GET Mozilla/5.0', 'GET Mozilla/5.0', 'HEAD null', 'HEAD null']);
    fast.close();
    node.close();
  });

  it('pipelined requests in one write, in request order although they finish out of order', async () => {
    const before = (await hits()).length;
    const handed = await handOvers();
    const c = new Raw(s.url);
    // A malformed path answers at once, an unknown tracker after a store read, a known one after its
    // commit: their answers become ready out of order. HEAD answers have no body, so any answer out
    // of its place breaks the framing below.
    const requests: Array<[string, string]> = [
      ['GET', pixel],
      ['HEAD', '/p/not-a-pixel'],
      ['GET', `/p/${acc.account}/${trackerId()}.gif`],
      ['HEAD', pixel],
      ['GET', '/p/%zz/../x.gif?a=1#f'],
      ['HEAD', `/p/${acc.account}/${trackerId()}.gif`],
      ['GET', `${pixel}?second`],
    ];
    c.write(requests.map(([method, path]) => (method === 'GET' ? get(path) : head(path))).join(''));
    for (const [method] of requests) expectGif(await c.next(method), method);
    expect(c.rest.length).toBe(0);
    expect((await hits()).length - before).toBe(3);
    expect(await handOvers()).toBe(handed);
    c.close();
  });

  it('a head that arrives one byte at a time, and two heads split at every offset', async () => {
    // Its own server with a long headersTimeout: this case is about assembling heads from pieces, and
    // ~60 one-byte writes with a timer between them outlast the shared server's 500 ms on a loaded
    // machine (seen: 408 with two CPU hogs beside the suite) — as node:http would answer them too.
    const own = await startTestServer({ accountsPerHour: 100, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    try {
      const a = await newAccount(own.url);
      const id = trackerId();
      await putTracker(own.url, a, id);
      const path = `/p/${a.account}/${id}.gif`;
      const handed = await handOvers(own);
      const c = new Raw(own.url);
      for (const byte of Buffer.from(get(path, 'Accept: image/*\r\n'))) {
        c.write(Buffer.from([byte]));
        await sleep(1);
      }
      expectGif(await c.next());
      const two = Buffer.from(get(path) + head(path));
      for (let cut = 1; cut < two.length; cut += 7) {
        c.write(two.subarray(0, cut));
        await sleep(2);
        c.write(two.subarray(cut));
        expectGif(await c.next());
        expectGif(await c.next('HEAD'), 'HEAD');
      }
      expect(await handOvers(own)).toBe(handed);
      expect((await hits(a.account, id, own)).length).toBe(1 + 2 * Math.ceil((two.length - 1) / 7));
      c.close();
    } finally {
      await own.stop();
    }
  });

  it('`Connection: close` with a closing answer, then ends the connection and reads nothing more', async () => {
    const before = (await hits()).length;
    const c = new Raw(s.url);
    c.write(get(pixel, 'Connection: close\r\n') + get(pixel));
    const reply = await c.next();
    expectGif(reply);
    expect(reply.headers.connection).toBe('close');
    expect(reply.headers['keep-alive']).toBeUndefined();
    await c.closed;
    expect(c.rest.length).toBe(0);
    expect((await hits()).length - before).toBe(1);
  });

  it('many pipelined requests from a client that does not read for a while (backpressure), all in order', async () => {
    const before = (await hits()).length;
    const c = new Raw(s.url);
    c.socket.pause();
    const methods = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 'HEAD' : 'GET'));
    c.write(methods.map((m, i) => (m === 'GET' ? get(`${pixel}?n=${i}`) : head(`${pixel}?n=${i}`))).join(''));
    await sleep(300);
    c.socket.resume();
    for (const m of methods) expectGif(await c.next(m), m);
    expect(c.rest.length).toBe(0);
    expect((await hits()).length - before).toBe(methods.length);
    c.close();
  });
});

describe('hand-over to node:http', () => {
  it('pixel, then an API request on the same keep-alive connection, then a pixel again', async () => {
    const before = (await hits()).length;
    const c = new Raw(s.url);
    c.write(get(pixel));
    expectGif(await c.next());
    c.write(get('/healthz'));
    const health = await c.next();
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ ok: true });
    c.write(get(pixel));
    expectGif(await c.next());
    expect((await hits()).length - before).toBe(2);
    c.close();
  });

  it('an API request with a body pipelined behind pixels still in flight: answered after them, correctly', async () => {
    const before = (await hits()).length;
    const other = trackerId();
    const body = JSON.stringify({ state: 'sent' });
    const c = new Raw(s.url);
    c.write(
      get(pixel) +
        head(pixel) +
        `PUT /v1/trackers/${other} HTTP/1.1\r\nHost: ping.example\r\nAuthorization: Bearer ${acc.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        get(pixel),
    );
    expectGif(await c.next());
    expectGif(await c.next('HEAD'), 'HEAD');
    const put = await c.next();
    expect(put.status).toBe(200);
    expect(JSON.parse(put.body.toString())).toMatchObject({ tracker: other, state: 'sent' });
    expectGif(await c.next());
    expect((await hits()).length - before).toBe(3);
    expect((await s.server.store.getTracker(acc.account, other))?.state).toBe('sent');
    c.close();
  });

  it('an API request first, then a pixel, on one connection', async () => {
    const before = (await hits()).length;
    const c = new Raw(s.url);
    c.write(`GET /v1/trackers/${tracker} HTTP/1.1\r\nHost: ping.example\r\nAuthorization: Bearer ${acc.token}\r\n\r\n` + get(pixel));
    const api = await c.next();
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body.toString())).toMatchObject({ tracker, state: 'sent' });
    expectGif(await c.next());
    expect((await hits()).length - before).toBe(1);
    c.close();
  });

  it('requests the fast path does not serve itself still get the GIF from node:http (SPEC §3)', async () => {
    const cases = [
      `GET ${pixel} HTTP/1.0\r\nHost: x\r\n\r\n`,
      get(pixel, 'User-Agent: a\r\nUser-Agent: b\r\n'),
      get(pixel, 'Content-Length: 00\r\n'),
      get(pixel, 'Proxy-Connection: keep-alive\r\n'),
      get(pixel, 'X-Note: caf\xe9\r\n'),
      get(`http://[::1]:8787${pixel}`),
    ];
    for (const request of cases) {
      const handed = await handOvers();
      const c = new Raw(s.url);
      c.write(Buffer.from(request, 'latin1'));
      const reply = await c.next();
      expect(reply.status, request).toBe(200);
      expectGif(reply);
      expect(await handOvers(), request).toBe(handed + 1);
      c.close();
    }
    // A GIF for what llhttp refuses, too? No: node:http answers invalid HTTP with 400, as before.
    const c = new Raw(s.url);
    c.write(get(pixel, 'X-Folded: a\r\n b\r\n'));
    const refused = await c.next();
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ error: 'bad_request' });
  });

  it('a head larger than the limit gets 431 in the error shape, whole or in pieces', async () => {
    for (const pieces of [1, 4]) {
      const c = new Raw(s.url);
      const big = get(pixel, `X-Big: ${'a'.repeat(20_000)}\r\n`);
      const size = Math.ceil(big.length / pieces);
      for (let i = 0; i < big.length; i += size) {
        c.write(big.slice(i, i + size));
        await sleep(5);
      }
      const reply = await c.next();
      expect(reply.status).toBe(431);
      expect(JSON.parse(reply.body.toString())).toEqual({ error: 'headers_too_large', message: expect.any(String) });
      c.close();
    }
  });

  it('a random mix of pixels, API calls and odd pixels, cut at random points, is answered in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('pixel', 'head', 'health', 'odd', 'malformed'), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 5 }),
        async (kinds, cuts) => {
          const methods: string[] = [];
          let text = '';
          for (const kind of kinds) {
            methods.push(kind === 'head' ? 'HEAD' : 'GET');
            if (kind === 'pixel') text += get(pixel);
            else if (kind === 'head') text += head(pixel);
            else if (kind === 'health') text += get('/healthz');
            else if (kind === 'odd') text += get(pixel, 'Accept: a\r\nAccept: b\r\n');
            else text += get('/p/../x');
          }
          const bytes = Buffer.from(text);
          const c = new Raw(s.url);
          let at = 0;
          for (const cut of cuts) {
            if (at >= bytes.length) break;
            c.write(bytes.subarray(at, at + cut));
            at += cut;
            await sleep(1);
          }
          if (at < bytes.length) c.write(bytes.subarray(at));
          for (let i = 0; i < kinds.length; i++) {
            const reply = await c.next(methods[i]);
            if (kinds[i] === 'health') expect(JSON.parse(reply.body.toString())).toMatchObject({ ok: true });
            else expectGif(reply, methods[i]);
          }
          expect(c.rest.length).toBe(0);
          c.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('slow, idle and broken clients', () => {
  it('a pixel head not complete within headersTimeout gets 408 in the error shape and the connection closes', async () => {
    for (const partial of ['', `GET ${pixel} HTTP/1.1\r\nHost: x\r\n`, 'GET /healthz HTTP/1.1\r\n']) {
      const c = new Raw(s.url);
      const started = Date.now();
      if (partial) c.write(partial);
      const reply = await c.next('GET', 5000);
      const after = Date.now() - started;
      expect(reply.status, partial).toBe(408);
      expect(JSON.parse(reply.body.toString())).toEqual({ error: 'timeout', message: expect.any(String) });
      expect(after).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
      // node:http checks on an interval of min(1 s, headersTimeout); the fast path times the head itself.
      expect(after).toBeLessThan(HEADERS_TIMEOUT_MS * 2 + 500);
      await c.closed;
    }
  });

  it('the 408 of a slow head waits for the answers before it', async () => {
    const c = new Raw(s.url);
    c.write(get(pixel) + `GET ${pixel} HTTP/1.1\r\n`);
    expectGif(await c.next());
    expect((await c.next()).status).toBe(408);
    await c.closed;
  });

  it('an idle keep-alive connection is closed after keepAliveTimeout (plus node:http’s 1 s), a busy one is not', async () => {
    const idle = new Raw(s.url);
    idle.write(get(pixel));
    expectGif(await idle.next());
    const busy = new Raw(s.url);
    busy.write(get(pixel));
    expectGif(await busy.next());
    const started = Date.now();
    let sent = 0;
    const keep = setInterval(() => {
      busy.write(head(pixel));
      sent++;
    }, 300);
    await idle.closed;
    const after = Date.now() - started;
    clearInterval(keep);
    expect(after).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS + 1000 - 100);
    expect(after).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1000 + 1000);
    expect(sent).toBeGreaterThan(3);
    for (let i = 0; i < sent; i++) expectGif(await busy.next('HEAD'), 'HEAD');
    busy.write(get(pixel));
    expectGif(await busy.next());
    busy.close();
  });

  it('a client that resets mid-request, or ends its side, causes no error and the server stays up', async () => {
    const slow = new Raw(s.url);
    slow.write(get(pixel) + get(pixel));
    slow.socket.resetAndDestroy();
    const half = new Raw(s.url);
    half.socket.end(get(pixel));
    const reply = await half.next();
    expectGif(reply);
    await half.closed;
    // Pixels, then an API request, then the end of the client's side, in one go: the API request waits
    // for the pixels' answers and is handed over after the stream has ended, end included — node:http
    // then ends the connection at once, as it does whenever its client ends its side
    // (lib/_http_server.js socketOnEnd), before the API request's answer is ready.
    const ending = new Raw(s.url);
    ending.socket.end(get(pixel) + head(pixel) + get('/healthz'));
    expectGif(await ending.next());
    expectGif(await ending.next('HEAD'), 'HEAD');
    await ending.closed;
    const partial = new Raw(s.url);
    partial.socket.end(`GET ${pixel} HTTP/1.1\r\nHost`);
    expect((await partial.next()).status).toBe(400);
    await partial.closed;
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

describe('client address', () => {
  it('is the TCP peer unless the peer is a trusted proxy, on the fast path and on node:http alike', async () => {
    const forwarded = 'X-Forwarded-For: 203.0.113.9\r\nForwarded: for=198.51.100.7\r\n';
    const xff = 'X-Forwarded-For: 203.0.113.9, 127.0.0.1\r\n';
    const prefixes = async (server: Running, account: Account, id: string) =>
      (await server.server.store.trackerHits(account.account, id)).map((h) => h.hit.network.prefix);

    const plain = new Raw(s.url);
    plain.write(get(pixel, forwarded));
    expectGif(await plain.next());
    expect((await prefixes(s, acc, tracker)).at(-1)).toBe('127.0.0.0/24');
    plain.close();

    const trusted = await startTestServer({ accountsPerHour: 100, trustProxy: parseTrustProxy('loopback') });
    try {
      const a = await newAccount(trusted.url);
      const viaFast = trackerId();
      const viaNode = trackerId();
      await putTracker(trusted.url, a, viaFast);
      await putTracker(trusted.url, a, viaNode);
      const fast = new Raw(trusted.url);
      fast.write(get(`/p/${a.account}/${viaFast}.gif`, forwarded) + get(`/p/${a.account}/${viaFast}.gif`, xff));
      expectGif(await fast.next());
      expectGif(await fast.next());
      const node = new Raw(trusted.url);
      node.write(get('/healthz') + get(`/p/${a.account}/${viaNode}.gif`, forwarded) + get(`/p/${a.account}/${viaNode}.gif`, xff));
      await node.next();
      expectGif(await node.next());
      expectGif(await node.next());
      // Only X-Forwarded-For is read (OPENPING_PROXY_HEADER's default), a Forwarded beside it is not; the same on both paths.
      const expected = ['203.0.113.0/24', '203.0.113.0/24'];
      expect((await prefixes(trusted, a, viaFast)).sort()).toEqual(expected);
      expect((await prefixes(trusted, a, viaNode)).sort()).toEqual(expected);
      fast.close();
      node.close();
    } finally {
      await trusted.stop();
    }
  });
});

describe('shutdown', () => {
  it('closes idle connections of both kinds at once and answers a pixel in flight with Connection: close', async () => {
    const own = await startTestServer({ accountsPerHour: 100 });
    const a = await newAccount(own.url);
    const id = trackerId();
    await putTracker(own.url, a, id);
    const path = `/p/${a.account}/${id}.gif`;
    const fastIdle = new Raw(own.url);
    fastIdle.write(get(path));
    expectGif(await fastIdle.next());
    const nodeIdle = new Raw(own.url);
    nodeIdle.write(get('/healthz'));
    await nodeIdle.next();
    const inFlight = new Raw(own.url);
    inFlight.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n`);
    await sleep(50);
    const started = Date.now();
    const closing = own.server.close();
    inFlight.write('\r\n');
    await Promise.all([fastIdle.closed, nodeIdle.closed]);
    expect(Date.now() - started).toBeLessThan(1000);
    const last = await inFlight.next();
    expectGif(last);
    expect(last.headers.connection).toBe('close');
    await inFlight.closed;
    await closing;
    expect(Date.now() - started).toBeLessThan(5000);
    await own.stop();
  });
});

/**
 * Differential: whatever scanHead accepts, node:http (llhttp) accepts too and
 * reads the same way — method, path, every header the pixel reads, keep-alive.
 */
describe('scanHead against llhttp', () => {
  let echo: HttpServer;
  let echoPort: number;
  const MAX = 8 * 1024;
  const NAMES: PixelHeaderName[] = ['user-agent', 'accept', 'accept-language', 'accept-encoding', 'referer', 'via', 'from', 'forwarded', 'x-forwarded-for'];

  beforeAll(async () => {
    echo = createHttpServer({ maxHeaderSize: MAX }, (req, res) => {
      const headers: Record<string, string | undefined> = {};
      for (const name of NAMES) {
        const v = req.headers[name];
        headers[name] = Array.isArray(v) ? v.join(', ') : v;
      }
      // In a header, so that HEAD answers carry it too.
      res.setHeader('x-echo', Buffer.from(JSON.stringify({ method: req.method, url: req.url, headers, keepAlive: res.shouldKeepAlive })).toString('base64'));
      res.end();
    });
    echo.on('clientError', (_e, socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoPort = (echo.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  async function llhttp(bytes: Buffer): Promise<{ status: number; body: string }> {
    const c = new Raw(`http://127.0.0.1:${echoPort}`);
    c.write(bytes);
    const reply = await c.next('HEAD');
    c.close();
    return { status: reply.status, body: Buffer.from(reply.headers['x-echo'] ?? '', 'base64').toString() };
  }

  function scan(bytes: Buffer): [number, FastRequest] {
    const out = new FastRequest(null);
    return [scanHead(bytes, 0, MAX, out), out];
  }

  async function expectSameAsNode(bytes: Buffer, end: number, out: FastRequest): Promise<void> {
    const label = JSON.stringify(bytes.toString('latin1'));
    expect(end, label).toBe(bytes.length);
    const node = await llhttp(bytes);
    expect(node.status, label).toBe(200);
    const seen = JSON.parse(node.body) as { method: string; url: string; headers: Record<string, string | undefined>; keepAlive: boolean };
    expect(out.method, label).toBe(seen.method);
    expect(out.url, label).toBe(originForm(seen.url));
    for (const name of NAMES) expect(out.header(name), `${label} ${name}`).toBe(seen.headers[name]);
    expect(!out.close, label).toBe(seen.keepAlive);
  }

  /** Whatever scanHead makes of a complete head, node:http agrees: it accepts it and reads it the same way, or scanHead hands it over. */
  async function expectAgreesWithNode(bytes: Buffer): Promise<'accepted' | 'handed over'> {
    const [end, out] = scan(bytes);
    if (end === HAND_OVER) return 'handed over';
    await expectSameAsNode(bytes, end, out);
    return 'accepted';
  }

  it('reads hand-picked heads as node:http does, and hands over what is unusual', async () => {
    const ok = [
      get('/p/a/b.gif'),
      head('/p/a/b.gif?x=1#frag'),
      get('http://ping.example/p/a/b.gif'),
      get('https://ping.example:8443/p/a/b.gif?q'),
      'GET /p/x HTTP/1.1\r\nhost:ping.example\r\nUSER-AGENT: \t Mozilla/5.0 (X11) \t \r\nAccept:\r\nConnection: Close\r\n\r\n',
      get('/p/!"$%&\'()*+,-./:;<=>@[\\]^_`{|}~', 'Connection: keep-alive\r\nContent-Length: 0\r\nX-Any: 1\r\nX-Any: 2\r\n'),
      get('/p/x', 'Referer: https://mail.example/x\r\nVia: 1.1 proxy\r\nFrom: a@b\r\nForwarded: for=1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\n'),
    ];
    for (const text of ok) {
      const bytes = Buffer.from(text, 'latin1');
      const [end, out] = scan(bytes);
      await expectSameAsNode(bytes, end, out);
      // Every proper prefix of an accepted head may still become it.
      for (let cut = 1; cut < bytes.length; cut++) expect(scan(bytes.subarray(0, cut))[0], `${text} cut at ${cut}`).toBe(INCOMPLETE);
    }
    const handOver = [
      'POST /p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'get /p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET  /p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /p/a HTTP/1.0\r\nHost: x\r\n\r\n',
      'GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /p/a HTTP/1.1\nHost: x\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\n\n',
      'GET /p/a HTTP/1.1\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost:\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nX-A: caf\xe9\r\n\r\n',
      'GET /p/caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /p/a\tb HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n',
      'GET /p/a HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nuser-agent: b\r\n\r\n',
      'GET HTTP://x/p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://u@x/p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://x:/p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://x/v1/p/a HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /p/a HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX)}\r\n\r\n`,
      `GET /p/a HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(101)}\r\n`,
    ];
    for (const text of handOver) expect(scan(Buffer.from(text, 'latin1'))[0], JSON.stringify(text)).toBe(HAND_OVER);
    // Found by an attack on the server (issue 13): Node 20's llhttp refuses `Content-Length: 0<TAB>` (400) and
    // does not read `close<TAB>` as close; Node 24's reads both. Whatever the running node does, the fast path
    // either reads them the same way or hands them over.
    for (const extra of ['Content-Length: 0\t', 'Content-Length: 0 \t', 'Connection: close\t', 'Connection: keep-alive\t', 'Connection: close \t', 'Content-Length:\t0\t']) {
      await expectAgreesWithNode(Buffer.from(get('/p/a/b.gif', `${extra}\r\n`), 'latin1'));
    }
    // What is not a pixel request is known as soon as its first bytes differ.
    for (const start of ['P', 'GET /v', 'HEAD /x', 'GET h2', 'GET /p/a\x00', 'GET /p/a\n']) {
      expect(scan(Buffer.from(start, 'latin1'))[0], start).toBe(HAND_OVER);
    }
  });

  it('reads generated heads as node:http does whenever it accepts them', async () => {
    // Mostly well-formed pieces, so that many heads are accepted and compared; the odd ones make the rest.
    const often = <T,>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 12 }, { arbitrary: odd, weight: 1 });
    const name = often(
      fc.constantFrom('User-Agent', 'USER-AGENT', 'accept', 'Accept-Language', 'Accept-Encoding', 'Referer', 'Via', 'From', 'Forwarded', 'X-Forwarded-For', 'X-Other', 'Connection'),
      fc.constantFrom('Host', 'Proxy-Connection', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Upgrade', 'Keep-Alive', 'X_Under', 'Bad Name', 'Bad"Name', ''),
    );
    const value = often(
      fc.constantFrom('', 'close', 'keep-alive', 'Close', 'KEEP-ALIVE', ' x ', 'Mozilla/5.0 (X11; Linux) Gecko/20100101', 'for=192.0.2.1;proto=https', '203.0.113.5, 127.0.0.1', 'https://a.example/b?c'),
      fc.oneof(
        fc.constantFrom('keep-alive, close', '0', '00', '1', 'chunked', 'upgrade', '100-continue'),
        fc.string({ unit: fc.constantFrom(...'aZ09 \t-_,;=:/"()\x01\x7f\xe9\r'.split('')), maxLength: 12 }),
      ),
    );
    const sep = often(fc.constantFrom(': ', ':', ':\t', ':  '), fc.constantFrom(' : ', ' :'));
    const eol = often(fc.constant('\r\n'), fc.constantFrom('\n', '\r', '\r\r\n'));
    const target = often(
      fc.string({ unit: fc.constantFrom(...'/pab.gif?#%-_~!$&\'()*+,;=:@[]{}|\\^`"<>'.split('')), maxLength: 16 }).map((t) => `/p/${t}`),
      fc.oneof(
        fc.constantFrom('/p/a/b.gif', 'http://h/p/x', 'https://h:1/p/x', 'http://h:/p/x', 'http://[::1]/p/x', 'HTTP://h/p/x', '/v1/events', '*', '/p', ''),
        fc.string({ unit: fc.constantFrom(...'/p \t\xe9\x00'.split('')), maxLength: 8 }).map((t) => `/p/${t}`),
      ),
    );
    const head = fc.record({
      method: often(fc.constantFrom('GET', 'HEAD'), fc.constantFrom('POST', 'get', 'GET ', 'OPTIONS')),
      target,
      version: often(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ')),
      firstEol: eol,
      headers: fc.array(fc.tuple(name, sep, value, eol, fc.boolean()), { maxLength: 8 }),
      lastEol: eol,
    });
    let accepted = 0;
    let handedOver = 0;
    await fc.assert(
      fc.asyncProperty(head, async (h) => {
        let text = `${h.method} ${h.target} ${h.version}${h.firstEol}`;
        // Most heads get one Host first, so that many are accepted and compared.
        if (h.headers.length === 0 || h.headers[0]![4]) text += `Host: ping.example\r\n`;
        for (const [n, s, v, e] of h.headers) text += `${n}${s}${v}${e}`;
        text += h.lastEol;
        const bytes = Buffer.from(text, 'latin1');
        const [end, out] = scan(bytes);
        if (end === HAND_OVER) handedOver++;
        if (end <= 0) return;
        accepted++;
        await expectSameAsNode(bytes, end, out);
      }),
      { numRuns: 2000 },
    );
    // Both sides of the line were exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(handedOver).toBeGreaterThan(100);
  }, 60_000);
  it('reads generated header whitespace, folded lines and odd bytes as node:http does, or hands them over', async () => {
    // The places where parsers differ most (RFC 9112 §5: OWS around values, obs-fold, bytes outside
    // field-vchar): whitespace before and after values of the headers llhttp itself interprets and of
    // ones it does not, continuation lines, and control or non-ASCII bytes at either end.
    const ws = fc.constantFrom('', ' ', '\t', '  ', ' \t', '\t ', '\t\t');
    const odd = fc.constantFrom('\x00', '\x0b', '\x0c', '\x1f', '\x7f', '\x80', '\xa0', '\xff', '\r', '\n');
    const line = fc.record({
      name: fc.constantFrom('Connection', 'Content-Length', 'User-Agent', 'Via', 'Referer', 'From', 'X-Forwarded-For', 'X-Other', 'Host'),
      before: ws,
      value: fc.constantFrom('close', 'keep-alive', '0', 'Close', 'a b', 'a\tb', 'Mozilla/5.0 (X11)', '1.1 proxy', ''),
      after: fc.oneof({ arbitrary: ws, weight: 6 }, { arbitrary: odd, weight: 1 }),
      fold: fc.oneof({ arbitrary: fc.constant(''), weight: 6 }, { arbitrary: fc.constantFrom('\r\n x', '\r\n\tx', '\r\n ', '\n x'), weight: 1 }),
    });
    let accepted = 0;
    let handedOver = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 4 }), async (lines) => {
        const extra = lines.map((l) => `${l.name}:${l.before}${l.value}${l.after}${l.fold}\r\n`).join('');
        const result = await expectAgreesWithNode(Buffer.from(get('/p/a/b.gif', extra), 'latin1'));
        if (result === 'accepted') accepted++;
        else handedOver++;
      }),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(handedOver).toBeGreaterThan(100);
  }, 60_000);
});

/**
 * Differential over whole connections: the same bytes, then the end of the
 * client's side, sent to OpenPing (fast path first) and to a bare node:http
 * server with the same limits and timeouts; both must give the same answers,
 * in the same order, and then close. node:http is the running node's own, so
 * under each Node version the fast path is held to that version's reading.
 */
describe('whole connections against node:http', () => {
  let bare: HttpServer;
  let bareUrl: string;

  beforeAll(async () => {
    bare = createHttpServer(
      { maxHeaderSize: 8 * 1024, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 1000, connectionsCheckingInterval: HEADERS_TIMEOUT_MS },
      (_req, res) => res.end(),
    );
    bare.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // The statuses of OpenPing's own clientError answer (server.ts answerBrokenRequest).
    bare.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => bare.close(() => resolve())));

  /**
   * Writes bytes (then ends the client's side, when `end`), and reads one answer per entry of `methods`
   * (the method that frames it) until the server closes the connection: each as status and Connection.
   */
  async function statuses(url: string, bytes: string, methods: string[], end: boolean): Promise<string[]> {
    const c = new Raw(url);
    const data = Buffer.from(bytes, 'latin1');
    if (end) c.socket.end(data);
    else c.write(data);
    const seen: string[] = [];
    try {
      for (const method of methods) {
        const reply = await c.next(method, 10_000);
        seen.push(`${reply.status} ${reply.headers.connection}`);
      }
    } catch (error) {
      if (!String(error).includes('connection closed')) throw error;
    }
    c.close();
    return seen;
  }

  it('answers heads that end early, odd whitespace and half-closes as node:http does', async () => {
    // [bytes, the methods framing the answers, whether the client ends its side after them]. node:http
    // ends a connection as soon as its client ends its side (lib/_http_server.js socketOnEnd) and answers
    // a broken head at once, so what else it answers then depends on how fast its handler is (this one
    // answers at once, OpenPing's after a commit): the cases avoid such races.
    const cases: Array<[string, string[], boolean]> = [
      // Found by an attack on the server (issue 13): node:http answers the broken head at once with 400;
      // the fast path waited for headersTimeout and answered 408.
      [get(pixel) + 'GET /v1/ev', ['GET', 'GET'], true],
      [get(pixel) + 'GET /v1/events HTTP/1.1\r\nHost: x\r\n', ['GET', 'GET'], true],
      [get(pixel) + head(pixel) + 'GET /healthz HTTP/1.1\r\nHo', ['GET', 'HEAD', 'GET'], true],
      [get(pixel) + `GET ${pixel} HTTP/1.1\r\nHost`, ['GET', 'GET'], true],
      ['GET /v1/ev', ['GET'], true],
      [`GET ${pixel} HTTP/1.1\r\n`, ['GET'], true],
      // Node 20 refuses this head (400); Node 24 reads it.
      [get(pixel, 'Content-Length: 0\t\r\n'), ['GET'], false],
      // Node 20 keeps the connection open after it (close<TAB> is not close); Node 24 closes.
      [get(pixel, 'Connection: close\t\r\n'), ['GET'], false],
      [get(pixel, 'Connection: keep-alive\t\r\n'), ['GET'], false],
      [get(pixel, 'Connection: close \r\n'), ['GET'], false],
      [get(pixel, 'Connection:\tclose\r\n'), ['GET'], false],
      [get(pixel, 'X-A: a\r\n\tb\r\n'), ['GET'], false],
      [get(pixel) + get(pixel, 'User-Agent: a\x0b\r\n'), ['GET', 'GET'], false],
    ];
    for (const [bytes, methods, end] of cases) {
      const expected = await statuses(bareUrl, bytes, methods, end);
      expect(await statuses(s.url, bytes, methods, end), JSON.stringify(bytes)).toEqual(expected);
    }
  });
});

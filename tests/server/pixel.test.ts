/** The pixel route (SPEC §3): bytes, headers, recording, group commit, flood cap, client address and privacy. */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { ContextCache } from '../../backend/pixel.ts';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import type { Store } from '../../backend/store/types.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';

const GIF_BASE64 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==';
const NO_CACHE = {
  'content-type': 'image/gif',
  'content-length': '43',
  'cache-control': 'no-cache, no-store, must-revalidate, max-age=0',
  pragma: 'no-cache',
  expires: '0',
};

/** Raw GET/HEAD with a path exactly as given (fetch would normalise it). */
function raw(url: string, path: string, method = 'GET', headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** N simultaneous GETs from a child process; returns "status bodyLength" per request. */
function parallelFetches(url: string, n: number): Promise<string[]> {
  const script = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const one = () => new Promise((resolve) => {
      http.get(process.argv[1], { agent }, (res) => {
        let size = 0;
        res.on('data', (c) => (size += c.length));
        res.on('end', () => resolve(res.statusCode + ' ' + size));
      }).on('error', (e) => resolve('error ' + e.message));
    });
    Promise.all(Array.from({ length: Number(process.argv[2]) }, one)).then((r) => console.log(JSON.stringify(r)));
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, url, String(n)], (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))));
  });
}

function expectGif(r: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }, method = 'GET') {
  expect(r.status).toBe(200);
  expect(r.headers).toMatchObject(NO_CACHE);
  expect(r.body.toString('base64')).toBe(method === 'HEAD' ? '' : GIF_BASE64);
}

let s: Running;
let acc: Account;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000, floodCapPerHour: 1000 });
  acc = await newAccount(s.url);
});
afterAll(async () => {
  await s.stop();
});

async function hitCount(account: string, tracker: string) {
  return (await s.server.store.trackerHits(account, tracker)).length;
}

describe('the pixel', () => {
  it('answers the 43-byte GIF with no-cache headers for known, unknown and malformed ids, GET and HEAD', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const paths = [
      `/p/${acc.account}/${tracker}.gif`,
      `/p/${acc.account}/${trackerId()}.gif`,
      `/p/${'Z'.repeat(22)}/${tracker}.gif`,
      `/p/${acc.account}/${tracker}.png`,
      `/p/${acc.account}/${tracker}`,
      `/p/${acc.account}/${tracker}.gif/extra`,
      '/p/',
      '/p/%E0%A4%A/x.gif',
      '/p/../../etc/passwd',
      `/p/${acc.account}/${tracker}.gif?utm=1&x=%zz`,
      `/p/short/${tracker}.gif`,
    ];
    for (const path of paths) {
      for (const method of ['GET', 'HEAD']) expectGif(await raw(s.url, path, method), method);
    }
    expect(Buffer.from(GIF_BASE64, 'base64')).toHaveLength(43);
    // Known GET, known HEAD, and the query-string variant (GET+HEAD) are recorded; nothing else.
    expect(await hitCount(acc.account, tracker)).toBe(4);
    const methods = (await s.server.store.trackerHits(acc.account, tracker)).map((h) => h.signals.method).sort();
    expect(methods).toEqual(['GET', 'GET', 'HEAD', 'HEAD']);
  });

  it('serves and records a pixel asked for in absolute form (GET http://host/p/….gif)', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    expectGif(await raw(s.url, `http://track.example/p/${acc.account}/${tracker}.gif`));
    expectGif(await raw(s.url, `http://track.example/p/${acc.account}/${trackerId()}.gif`));
    expect(await hitCount(acc.account, tracker)).toBe(1);
    expect((await raw(s.url, 'http://track.example/healthz')).status).toBe(200);
  });

  it('records an armed tracker too (classified by the classifier, e.g. presend)', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker, { state: 'armed' });
    expectGif(await raw(s.url, `/p/${acc.account}/${tracker}.gif`));
    const [stored] = await s.server.store.trackerHits(acc.account, tracker);
    expect(stored?.hit.kind).toBe('presend');
  });

  it('does not record a tracker under the wrong account', async () => {
    const other = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    expectGif(await raw(s.url, `/p/${other.account}/${tracker}.gif`));
    expect(await hitCount(acc.account, tracker)).toBe(0);
    expect(await hitCount(other.account, tracker)).toBe(0);
  });

  it('stores the signals the classifier needs, with only the network prefix', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    await raw(s.url, `/p/${acc.account}/${tracker}.gif`, 'GET', {
      'user-agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      accept: 'image/webp,*/*',
      'accept-language': 'de-DE',
      via: '1.1 proxy',
    });
    const [stored] = await s.server.store.trackerHits(acc.account, tracker);
    expect(stored?.signals).toMatchObject({
      method: 'GET',
      userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
      headers: { accept: 'image/webp,*/*', acceptLanguage: 'de-DE', via: '1.1 proxy' },
      network: { prefix: '127.0.0.0/24', family: 4 },
    });
  });
});

describe('group commit', () => {
  it('records N parallel fetches as N rows, in fewer transactions than fetches', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const before = await s.server.metrics.batchSize.get();
    const batchesBefore = before.values.find((v) => v.metricName === 'openping_commit_batch_size_count')?.value ?? 0;
    const n = 200;
    // Another process fires them, so they really arrive together (in-process clients take turns with the server).
    const statuses = await parallelFetches(`${s.url}/p/${acc.account}/${tracker}.gif`, n);
    expect(statuses).toEqual(Array(n).fill('200 43'));
    expect(await hitCount(acc.account, tracker)).toBe(n);
    const after = await s.server.metrics.batchSize.get();
    const batches = (after.values.find((v) => v.metricName === 'openping_commit_batch_size_count')?.value ?? 0) - batchesBefore;
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(n);
  });

  it('stores the flood cap per hour and counts the rest as dropped', async () => {
    const capped = await startTestServer({ accountsPerHour: 100, floodCapPerHour: 25 });
    try {
      const a = await newAccount(capped.url);
      const tracker = trackerId();
      await putTracker(capped.url, a, tracker);
      const results = await Promise.all(Array.from({ length: 40 }, () => raw(capped.url, `/p/${a.account}/${tracker}.gif`)));
      for (const r of results) expectGif(r);
      const body = await json<{ hits: unknown[]; dropped: number }>(await fetch(`${capped.url}/v1/trackers/${tracker}`, { headers: a.auth }));
      // Unless the clock hour turned mid-test, exactly 25 stored and 15 dropped.
      expect(body.hits.length + body.dropped).toBe(40);
      expect(body.hits.length).toBeGreaterThanOrEqual(25);
      expect(body.dropped).toBeLessThanOrEqual(15);
    } finally {
      await capped.stop();
    }
  });

  it('still answers the GIF when the store fails, and counts the error', async () => {
    const dir = s.dir;
    const real = await openSqliteStore(join(dir, 'broken.db'));
    const broken: Store = { ...real, recordHits: async () => Promise.reject(new Error('disk on fire')) };
    const b = await startTestServer({ accountsPerHour: 100 }, { store: broken });
    try {
      const a = await newAccount(b.url);
      const tracker = trackerId();
      await putTracker(b.url, a, tracker);
      expectGif(await raw(b.url, `/p/${a.account}/${tracker}.gif`));
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      expect(metrics).toMatch(/openping_store_errors_total\{operation="pixel"\} 1/);
      expect(metrics).toMatch(/openping_pixel_requests_total\{outcome="error"\} 1/);
      expect(b.logs()).toContain('pixel: hit not recorded');
    } finally {
      await b.stop();
      await real.close();
    }
  });
});

describe('tracker context cache', () => {
  it('lets a cached "no such tracker" expire, so a tracker registered elsewhere is seen after the TTL', async () => {
    const store = await openSqliteStore(join(s.dir, 'context-cache.db'));
    try {
      const contexts = new ContextCache(store, 1000);
      const account = trackerId();
      const tracker = trackerId();
      const t0 = Date.now();
      expect(await contexts.get(account, tracker, t0)).toBeNull();
      expect(contexts.peek(account, tracker, t0 + 500)).toBeNull();
      // Registered behind this cache's back, as another PostgreSQL instance would.
      await store.createAccount({ id: account, tokenHash: 'h'.repeat(64), createdAt: t0 });
      expect(await store.putTracker({ account, tracker, state: 'sent', sentAt: t0, now: t0 })).not.toBeNull();
      expect(contexts.peek(account, tracker, t0 + 1001)).toBeUndefined();
      expect((await contexts.get(account, tracker, t0 + 1001))?.state).toBe('sent');
      expect(contexts.peek(account, tracker, t0 + 1002)?.state).toBe('sent');
    } finally {
      await store.close();
    }
  });
});

describe('events feed under load', () => {
  it('pages GET /v1/events during concurrent pixel writes without repeating or skipping a hit', async () => {
    const a = await newAccount(s.url);
    const trackers = [trackerId(), trackerId(), trackerId()];
    for (const t of trackers) await putTracker(s.url, a, t);
    const seen: string[] = [];
    let cursor = '';
    const readPage = async () => {
      const res = await fetch(`${s.url}/v1/events${cursor ? `?after=${cursor}` : ''}`, { headers: a.auth });
      const body = await json<{ events: Array<{ id: string }>; cursor: string }>(res);
      seen.push(...body.events.map((e) => e.id));
      cursor = body.cursor;
      return body.events.length;
    };
    let writing = true;
    const writers = Promise.all(trackers.map((t) => parallelFetches(`${s.url}/p/${a.account}/${t}.gif`, 150))).finally(() => (writing = false));
    while (writing) {
      await readPage();
      await new Promise((r) => setTimeout(r, 5));
    }
    await writers;
    while ((await readPage()) > 0);
    const stored = (await Promise.all(trackers.map((t) => s.server.store.trackerHits(a.account, t)))).flat().map((h) => h.hit.id);
    expect(stored).toHaveLength(450);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...stored].sort());
  });
});

describe('client address', () => {
  const SECRET_V4 = '198.51.100.77';
  const SECRET_V6 = '2001:db8:abcd:12:3456:789a:bcde:f012';

  it('ignores forwarding headers from a peer that is not trusted', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    await raw(s.url, `/p/${acc.account}/${tracker}.gif`, 'GET', { 'x-forwarded-for': SECRET_V4, forwarded: `for=${SECRET_V4}` });
    const [stored] = await s.server.store.trackerHits(acc.account, tracker);
    expect(stored?.hit.network.prefix).toBe('127.0.0.0/24');
  });

  it('believes a trusted proxy, keeps only /24 and /48, and never writes a full address to disk or logs', async () => {
    const trusted = await startTestServer({ accountsPerHour: 100, trustProxy: parseTrustProxy('loopback'), logLevel: 'debug' });
    try {
      const a = await newAccount(trusted.url, { 'x-forwarded-for': SECRET_V4 });
      const t4 = trackerId();
      const t6 = trackerId();
      await putTracker(trusted.url, a, t4);
      await putTracker(trusted.url, a, t6);
      await raw(trusted.url, `/p/${a.account}/${t4}.gif`, 'GET', { 'x-forwarded-for': `${SECRET_V4}, 127.0.0.1` });
      await raw(trusted.url, `/p/${a.account}/${t6}.gif`, 'GET', { 'x-forwarded-for': `[${SECRET_V6}]:4711`, forwarded: `for=${SECRET_V4}` });
      await raw(trusted.url, `/p/${a.account}/${t4}.gif?x`, 'GET', {
        'x-forwarded-for': 'not-an-ip',
        // Headers that can name an address or the recipient's mailbox are reduced before storing.
        via: `1.1 ${SECRET_V4}:3128 (squid), 1.1 [${SECRET_V6}]`,
        referer: 'https://mail.example.net/mailbox/INBOX/msg-4711-secret?view=full',
      });
      expect((await trusted.server.store.trackerHits(a.account, t4)).map((h) => h.hit.network.prefix)).toEqual([
        '198.51.100.0/24',
        '127.0.0.0/24',
      ]);
      expect((await trusted.server.store.trackerHits(a.account, t6))[0]?.hit.network.prefix).toBe('2001:db8:abcd::/48');
      const [, withHeaders] = await trusted.server.store.trackerHits(a.account, t4);
      expect(withHeaders?.signals.headers).toMatchObject({
        via: '1.1 [address]:3128 (squid), 1.1 [address]',
        referer: 'https://mail.example.net',
      });
      // Unknown path + malformed requests also log nothing identifying.
      await raw(trusted.url, `/p/${a.account}/${trackerId()}.gif`, 'GET', { 'x-forwarded-for': SECRET_V4 });
      await trusted.server.close();
      const needles = [SECRET_V4, SECRET_V6, '2001:db8:abcd:12', '2001:0db8:abcd:0012', 'msg-4711-secret'];
      for (const file of readdirSync(trusted.dir)) {
        const bytes = readFileSync(join(trusted.dir, file)).toString('latin1');
        for (const needle of needles) expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
      }
      for (const needle of needles) expect(trusted.logs()).not.toContain(needle);
      expect(trusted.logs()).toContain('OpenPing server listening');
    } finally {
      await trusted.stop();
    }
  });
});

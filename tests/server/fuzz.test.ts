/**
 * Fuzz: thousands of malformed paths, headers, bodies and cursors against the
 * real server. No 5xx, no crash (health stays green), and nothing stored for
 * malformed input.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parsePixelPath } from '../../backend/pixel.ts';
import { newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';

let s: Running;
let acc: Account;
let tracker: string;
let port: number;

beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1_000_000, floodCapPerHour: 1_000_000, logLevel: 'fatal' });
  acc = await newAccount(s.url);
  tracker = trackerId();
  await putTracker(s.url, acc, tracker);
  port = Number(new URL(s.url).port);
});
afterAll(async () => {
  await s.stop();
});

/** Sends raw bytes, returns the status code of the first response (0 when the server just closed). */
function rawRequest(bytes: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => {
      data += d.toString('latin1');
      // One response is enough; close once headers and the declared body are in.
      const head = data.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(data)?.[1];
      if (head >= 0 && length !== undefined && data.length >= head + 4 + Number(length)) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data }));
    socket.end(bytes);
  });
}

async function storedCount(): Promise<number> {
  return (await s.server.store.trackerHits(acc.account, tracker)).length;
}

const pathChar = fc.constantFrom(...'abcXYZ019-_./%?#&=;:@!$\'()*+,~[]{}|\\^` "<>\u00e9\u0000\u007f'.split(''));
const junk = (max: number) => fc.array(pathChar, { maxLength: max }).map((a) => a.join(''));

it('answers malformed pixel paths with the GIF and stores nothing', async () => {
  const valid = `/p/${acc.account}/${tracker}.gif`;
  const before = await storedCount();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: valid.length }), fc.integer({ min: 0, max: valid.length }), junk(12), async (cut, at, insert) => {
      const path = `${valid.slice(0, at)}${insert}${valid.slice(at)}`.slice(0, Math.max(cut, 3) + insert.length);
      // White space and NUL cannot travel in a request line: what is sent is the path without them.
      const url = `/p/${path.replace(/^\/p\//, '')}`.replace(/[\s\u0000]/g, '');
      const ids = parsePixelPath(url);
      // Same ids (e.g. only a query added) is a real fetch; skip it here.
      fc.pre(!(ids?.account === acc.account && ids?.tracker === tracker));
      const { status, text } = await rawRequest(`GET ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(status === 200 || status === 400, `${url} → ${status}`).toBe(true);
      if (status === 200) expect(text).toMatch(/content-type: image\/gif/i);
    }),
    { numRuns: 1500 },
  );
  expect(await storedCount()).toBe(before);
}, 120_000);

it('survives arbitrary request lines and headers without a 5xx', async () => {
  const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'G E T', 'get', '');
  const path = fc.oneof(
    junk(40).map((j) => `/${j}`),
    junk(40).map((j) => `/v1/trackers/${j}`),
    junk(40).map((j) => `/v1/events?after=${j}`),
    junk(40).map((j) => `/p/${j}`),
    fc.string({ maxLength: 60 }),
  );
  const header = fc.tuple(fc.string({ minLength: 0, maxLength: 20 }), fc.string({ maxLength: 100 }));
  const before = await storedCount();
  await fc.assert(
    fc.asyncProperty(method, path, fc.array(header, { maxLength: 6 }), fc.boolean(), async (m, p, headers, auth) => {
      const lines = [`${m} ${p} HTTP/1.1`, 'Host: fuzz', ...headers.map(([k, v]) => `${k}: ${v}`)];
      if (auth) lines.push(`Authorization: Bearer ${acc.token}`);
      const { status } = await rawRequest(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
      expect(status, JSON.stringify([m, p, headers])).toBeLessThan(500);
    }),
    { numRuns: 1500 },
  );
  expect(await storedCount()).toBe(before);
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
}, 120_000);

it('refuses arbitrary bodies and cursors with 4xx, never 5xx, and stores no tracker for them', async () => {
  const body = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 3 }),
    fc.record({ state: fc.oneof(fc.string(), fc.constant('sent'), fc.constant('armed')), sentAt: fc.anything() }).map((o) => JSON.stringify(o)),
    fc.record({ at: fc.anything() }).map((o) => JSON.stringify(o)),
  );
  const route = fc.constantFrom(['PUT', ''], ['POST', '/self-views']);
  await fc.assert(
    fc.asyncProperty(route, body, fc.boolean(), async ([method, suffix], text, fresh) => {
      const id = fresh ? trackerId() : tracker;
      const res = await fetch(`${s.url}/v1/trackers/${id}${suffix}`, { method, headers: acc.auth, body: text });
      expect(res.status, `${method} ${text}`).toBeLessThan(500);
      const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (res.status >= 400) {
        expect(Object.keys(json ?? {}).sort()).toEqual(['error', 'message']);
        if (fresh) expect(await s.server.store.getTracker(acc.account, id)).toBeNull();
      }
    }),
    { numRuns: 800 },
  );
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 80 }), fc.string({ maxLength: 8 }), async (after, wait) => {
      // A valid non-zero wait would hold the request for seconds; the shape of such waits is tested in api.test.ts.
      fc.pre(!/^\d{1,2}(\.\d{1,3})?$/.test(wait) || Number(wait) === 0);
      const q = new URLSearchParams({ after, wait }).toString();
      const res = await fetch(`${s.url}/v1/events?${q}`, { headers: acc.auth });
      expect([200, 400], q).toContain(res.status);
    }),
    { numRuns: 800 },
  );
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
}, 120_000);

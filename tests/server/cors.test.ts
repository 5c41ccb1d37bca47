/**
 * CORS by origin (SPEC §3, issue 13 finding 7): /v1 answers cross-origin
 * requests only from extension origins and the origins the operator lists in
 * OPENPING_CORS_ORIGINS; a web page elsewhere can neither read an answer nor
 * create an account from its visitors' browsers. The pixel sends no CORS headers.
 */
import { connect } from 'node:net';
import Database from '../../backend/store/sqlite-driver.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../backend/config.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';

const CHROME = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const FIREFOX = 'moz-extension://0b7a9a4e-6d2c-4c8f-9a61-3f0c1e2d4b5a';
const LISTED = 'https://app.example.com';
const LISTED_PORT = 'http://localhost:3000';

let s: Running;
let acc: Account;

beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000, corsOrigins: [LISTED, LISTED_PORT] });
  acc = await newAccount(s.url);
});
afterAll(async () => {
  await s.stop();
});

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((name) => name.startsWith('access-control-'));

function preflight(origin: string, path = '/v1/trackers/abcdefghijklmnop') {
  return fetch(`${s.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' },
  });
}

/** Accounts in the server's SQLite file, read beside it (WAL lets a reader in). */
function accountCount(): number {
  const db = new Database(s.db, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('allowed origins get their own origin back, with Vary: Origin', () => {
  for (const [kind, origin] of [
    ['a Chrome extension', CHROME],
    ['a Firefox extension', FIREFOX],
    ['an origin in OPENPING_CORS_ORIGINS', LISTED],
    ['an origin with a port in OPENPING_CORS_ORIGINS', LISTED_PORT],
  ] as const) {
    it(kind, async () => {
      const created = await fetch(`${s.url}/v1/accounts`, { method: 'POST', headers: { origin } });
      expect(created.status).toBe(201);
      expect(created.headers.get('access-control-allow-origin')).toBe(origin);
      expect(created.headers.get('vary')).toMatch(/\bOrigin\b/i);
      expect(created.headers.get('access-control-allow-credentials')).toBeNull();
      const body = await json<{ token: string }>(created);
      expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const events = await fetch(`${s.url}/v1/events`, { headers: { origin, authorization: `Bearer ${body.token}` } });
      expect(events.status).toBe(200);
      expect(events.headers.get('access-control-allow-origin')).toBe(origin);

      // Errors carry it too, or the extension could not read their message.
      const unauthorized = await fetch(`${s.url}/v1/events`, { headers: { origin } });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('access-control-allow-origin')).toBe(origin);

      const health = await fetch(`${s.url}/healthz`, { headers: { origin } });
      expect(health.status).toBe(200);
      expect(health.headers.get('access-control-allow-origin')).toBe(origin);

      const pre = await preflight(origin);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
      expect(pre.headers.get('access-control-allow-methods')).toMatch(/\bPUT\b/);
      expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);
      expect(pre.headers.get('vary')).toMatch(/\bOrigin\b/i);
    });
  }
});

describe('other origins', () => {
  const others = [
    'https://evil.example',
    'http://app.example.com',
    'https://app.example.com:8443',
    'https://app.example.com.evil.example',
    'null',
    'chrome-extension://evil.example',
    'chrome-extension://abcdefghijklmnopabcdefghijklmnopq',
    'chrome-extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP',
    'moz-extension://not-a-uuid',
    'https://chrome-extension.example',
    `${CHROME}/`,
    `${CHROME}, https://evil.example`,
  ];

  it('get no allow headers on a preflight', async () => {
    for (const origin of others) {
      const pre = await preflight(origin);
      expect(pre.status, origin).toBe(204);
      expect(corsHeaders(pre), origin).toEqual([]);
      expect(pre.headers.get('vary'), origin).toMatch(/\bOrigin\b/i);
    }
  });

  it('cannot create accounts or use a token: 403 in the error shape, no CORS headers, nothing done', async () => {
    const tracker = trackerId();
    const accounts = accountCount();
    for (const origin of others) {
      const created = await fetch(`${s.url}/v1/accounts`, { method: 'POST', headers: { origin } });
      expect(created.status, origin).toBe(403);
      expect(corsHeaders(created), origin).toEqual([]);
      expect(await json(created)).toEqual({ error: 'forbidden_origin', message: expect.stringContaining('OPENPING_CORS_ORIGINS') });

      const put = await fetch(`${s.url}/v1/trackers/${tracker}`, {
        method: 'PUT',
        headers: { origin, ...acc.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'sent' }),
      });
      expect(put.status, origin).toBe(403);
      expect(corsHeaders(put), origin).toEqual([]);
      const del = await fetch(`${s.url}/v1/accounts/me`, { method: 'DELETE', headers: { origin, ...acc.auth } });
      expect(del.status, origin).toBe(403);
      // /healthz acts on nothing: answered, but not readable by that page.
      const health = await fetch(`${s.url}/healthz`, { headers: { origin } });
      expect(health.status, origin).toBe(200);
      expect(corsHeaders(health), origin).toEqual([]);
    }
    expect(await s.server.store.getTracker(acc.account, tracker)).toBeNull();
    // The account survived every DELETE above.
    expect((await fetch(`${s.url}/v1/events`, { headers: acc.auth })).status).toBe(200);
    expect(accountCount()).toBe(accounts);
  });

  it('requests without Origin (curl, servers) work as before, without CORS headers', async () => {
    const created = await fetch(`${s.url}/v1/accounts`, { method: 'POST' });
    expect(created.status).toBe(201);
    expect(corsHeaders(created)).toEqual([]);
  });
});

describe('the pixel', () => {
  it('sends no CORS headers, on the fast path and through node:http alike, whatever the origin', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const path = `/p/${acc.account}/${tracker}.gif`;
    for (const origin of [CHROME, LISTED, 'https://evil.example']) {
      const res = await fetch(`${s.url}${path}`, { headers: { origin } });
      expect(res.status).toBe(200);
      expect(corsHeaders(res), origin).toEqual([]);
      // HTTP/1.0 is handed over to node:http (fastpath.ts).
      const head = await rawHead(`GET ${path} HTTP/1.0\r\nHost: x\r\nOrigin: ${origin}\r\n\r\n`);
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).not.toMatch(/access-control-/i);
    }
  });
});

function rawHead(request: string): Promise<string> {
  const { hostname, port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

describe('OPENPING_CORS_ORIGINS', () => {
  it('takes comma-separated http(s) origins', () => {
    expect(loadConfig({ OPENPING_CORS_ORIGINS: ' https://app.example.com, http://localhost:3000 ,,' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('refuses anything else at start with one sentence naming the variable', () => {
    for (const bad of ['*', 'app.example.com', 'https://app.example.com/path', 'https://app.example.com/', 'ftp://app.example.com', 'https://user@app.example.com', 'null', 'https://app.example.com?x']) {
      expect(() => loadConfig({ OPENPING_CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ OPENPING_CORS_ORIGINS: bad }), bad).toThrow(/^OPENPING_CORS_ORIGINS: .*\.$/);
    }
  });
});

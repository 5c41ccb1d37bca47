/** Every /v1 route of SPEC §3 and its error shapes, over a real port and a real SQLite file. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReason, REASON_CODES, type ReasonCode } from '../../contract/index.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';

let s: Running;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000 });
});
afterAll(async () => {
  await s.stop();
});

function expectError(body: Record<string, unknown>, code?: string) {
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(typeof body.message).toBe('string');
  expect(String(body.message)).not.toMatch(/\n\s+at |Error:/);
  if (code) expect(body.error).toBe(code);
}

describe('accounts', () => {
  it('creates an anonymous account with a 256-bit token and the pixel base', async () => {
    const res = await fetch(`${s.url}/v1/accounts`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await json<{ account: string; token: string; pixelBase: string }>(res);
    expect(Object.keys(body).sort()).toEqual(['account', 'pixelBase', 'token']);
    expect(body.account).toMatch(/^[A-Za-z0-9_-]{16,43}$/);
    expect(Buffer.from(body.token, 'base64url')).toHaveLength(32);
    expect(body.pixelBase).toBe(`https://ping.example/p/${body.account}/`);
  });

  it('answers 401 in the error shape without a token, with a malformed or an unknown one', async () => {
    for (const authorization of [undefined, 'Bearer', 'Basic abc', `Bearer ${'A'.repeat(43)}`, 'Bearer short']) {
      const res = await fetch(`${s.url}/v1/events`, { headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
      expectError(await json(res), 'unauthorized');
    }
  });

  it('erases the account and all its data; the token stops working', async () => {
    const acc = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    await fetch(`${acc.pixelBase}${tracker}.gif`.replace('https://ping.example', s.url));
    const del = await fetch(`${s.url}/v1/accounts/me`, { method: 'DELETE', headers: acc.auth });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect((await fetch(`${s.url}/v1/events`, { headers: acc.auth })).status).toBe(401);
    expect(await s.server.store.getTracker(acc.account, tracker)).toBeNull();
    expect(await s.server.store.trackerHits(acc.account, tracker)).toEqual([]);
  });
});

describe('trackers', () => {
  let acc: Account;
  beforeAll(async () => {
    acc = await newAccount(s.url);
  });

  it('registers armed, then sent (idempotent), within the sentAt bounds', async () => {
    const tracker = trackerId();
    const armed = await putTracker(s.url, acc, tracker, { state: 'armed' });
    expect(armed.status).toBe(200);
    expect(await json(armed)).toEqual({ tracker, state: 'armed', sentAt: null, sentBy: null, autoSend: false });
    const sentAt = Date.now() - 60_000;
    const sent = await putTracker(s.url, acc, tracker, { state: 'sent', sentAt });
    expect(await json(sent)).toEqual({ tracker, state: 'sent', sentAt, sentBy: 'client', autoSend: false });
    const again = await putTracker(s.url, acc, tracker, { state: 'sent', sentAt: sentAt + 1000 });
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({ tracker, state: 'sent', sentAt, sentBy: 'client', autoSend: false });
    const byDefault = trackerId();
    const before = Date.now();
    const now = await json<{ sentAt: number }>(await putTracker(s.url, acc, byDefault, { state: 'sent' }));
    expect(now.sentAt).toBeGreaterThanOrEqual(before);
    expect(now.sentAt).toBeLessThanOrEqual(Date.now());
  });

  it('refuses bad ids, bodies and sentAt out of bounds with 400', async () => {
    const day = 24 * 3_600_000;
    const cases: Array<[string, string | undefined]> = [
      [trackerId(), JSON.stringify({ state: 'sent', sentAt: Date.now() - 8 * day })],
      [trackerId(), JSON.stringify({ state: 'sent', sentAt: Date.now() + 10 * 60_000 })],
      [trackerId(), JSON.stringify({ state: 'opened' })],
      [trackerId(), JSON.stringify({ state: 'sent', sentAt: 'yesterday' })],
      [trackerId(), JSON.stringify({ state: 'sent', sentAt: 1.5 })],
      [trackerId(), JSON.stringify(['sent'])],
      [trackerId(), '{"state":'],
      [trackerId(), undefined],
      ['short', JSON.stringify({ state: 'sent' })],
      ['x'.repeat(44), JSON.stringify({ state: 'sent' })],
      ['has.dot.in.it.0123456789', JSON.stringify({ state: 'sent' })],
    ];
    for (const [id, body] of cases) {
      const res = await fetch(`${s.url}/v1/trackers/${id}`, { method: 'PUT', headers: acc.auth, body });
      expect(res.status, `${id} ${body}`).toBe(400);
      expectError(await json(res));
    }
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await fetch(`${s.url}/v1/trackers/${trackerId()}`, {
      method: 'PUT',
      headers: acc.auth,
      body: JSON.stringify({ state: 'sent', pad: 'x'.repeat(100_000) }),
    });
    expect(res.status).toBe(413);
    expectError(await json(res), 'too_large');
  });

  it('returns the tracker with its hits and dropped count, and deletes it with its hits', async () => {
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const pixel = await fetch(`${s.url}/p/${acc.account}/${tracker}.gif`, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15' } });
    expect(pixel.status).toBe(200);
    const got = await fetch(`${s.url}/v1/trackers/${tracker}`, { headers: acc.auth });
    expect(got.status).toBe(200);
    const body = await json<{ hits: Array<Record<string, unknown>>; dropped: number; next: string | null }>(got);
    expect(Object.keys(body).sort()).toEqual(['autoSend', 'dropped', 'hits', 'next', 'sentAt', 'sentBy', 'state', 'tracker']);
    expect(body.dropped).toBe(0);
    expect(body.next).toBeNull();
    expect(body.hits).toHaveLength(1);
    expect(Object.keys(body.hits[0]!).sort()).toEqual(
      ['at', 'client', 'geo', 'id', 'kind', 'network', 'reason', 'reasonCode', 'reasonParams', 'tracker', 'via'],
    );
    expect(body.hits[0]).toMatchObject({ tracker, network: { prefix: '127.0.0.0/24' } });
    // SPEC §3: the code names the same reason; worded from it, it is the sentence sent beside it.
    const hit = body.hits[0] as { reason: string; reasonCode: ReasonCode; reasonParams: Record<string, string> };
    expect(REASON_CODES).toContain(hit.reasonCode);
    expect(formatReason(hit.reasonCode, hit.reasonParams)).toBe(hit.reason);
    const del = await fetch(`${s.url}/v1/trackers/${tracker}`, { method: 'DELETE', headers: acc.auth });
    expect(del.status).toBe(204);
    expect((await fetch(`${s.url}/v1/trackers/${tracker}`, { headers: acc.auth })).status).toBe(404);
    expect(await s.server.store.trackerHits(acc.account, tracker)).toEqual([]);
    expect((await fetch(`${s.url}/v1/trackers/${tracker}`, { method: 'DELETE', headers: acc.auth })).status).toBe(404);
  });

  it('pages the hits of a tracker: 500 at most, oldest first, `next` until null; a bad cursor is 400', async () => {
    // Its own account: a thousand hits would crowd the other tests' events pages.
    const acc = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const at = Date.now() - 3_600_000;
    // 900 hits stored directly (under the flood cap of an hour), 300 of them at one time, recorded newest first.
    const hits = Array.from({ length: 900 }, (_, i) => ({
      id: `page${String(1000 - i).padStart(6, '0')}x${String(i % 7)}`,
      account: acc.account,
      tracker,
      signals: { at: at + (i < 300 ? 0 : i), method: 'GET' as const, userAgent: null, headers: {}, network: { prefix: '192.0.2.0/24', family: 4 as const, asn: null, org: null } },
      classification: { kind: 'bot' as const, via: null, reason: 'No user-agent.', client: null },
      geo: null,
    }));
    await s.server.store.recordHits([...hits].reverse());
    const read: Array<{ id: string; at: number }> = [];
    const nexts: Array<string | null> = [];
    let url = `${s.url}/v1/trackers/${tracker}`;
    for (;;) {
      const res = await fetch(url, { headers: acc.auth });
      expect(res.status).toBe(200);
      const page = await json<{ hits: Array<{ id: string; at: number }>; next: string | null; dropped: number; state: string }>(res);
      expect(page.hits.length).toBeLessThanOrEqual(500);
      expect(page.state).toBe('sent');
      read.push(...page.hits);
      nexts.push(page.next);
      if (page.next === null) break;
      url = `${s.url}/v1/trackers/${tracker}?after=${encodeURIComponent(page.next)}`;
    }
    expect(nexts.map((n) => n === null)).toEqual([false, true]);
    expect(read.map((h) => h.id)).toEqual(
      [...hits].sort((x, y) => x.signals.at - y.signals.at || (x.id < y.id ? -1 : 1)).map((h) => h.id),
    );
    for (const bad of ['nonsense', '', `${at}.`, '1.2.3']) {
      const res = await fetch(`${s.url}/v1/trackers/${tracker}?after=${encodeURIComponent(bad)}`, { headers: acc.auth });
      expect(res.status, bad).toBe(400);
      expectError(await json(res));
    }
    const twice = await fetch(`${s.url}/v1/trackers/${tracker}?after=${nexts[0]}&after=${nexts[0]}`, { headers: acc.auth });
    expect(twice.status).toBe(400);
  });

  it("treats another account's tracker exactly like a missing one (404)", async () => {
    const owner = await newAccount(s.url);
    const other = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, owner, tracker);
    const missing = trackerId();
    const calls: Array<[string, string, string | undefined]> = [
      ['GET', '', undefined],
      ['DELETE', '', undefined],
      ['POST', '/self-views', JSON.stringify({ at: Date.now() })],
      // Last: a PUT of the missing id registers it for `other`.
      ['PUT', '', JSON.stringify({ state: 'sent' })],
    ];
    for (const [method, suffix, body] of calls) {
      const foreign = await fetch(`${s.url}/v1/trackers/${tracker}${suffix}`, { method, headers: other.auth, body });
      const absent = await fetch(`${s.url}/v1/trackers/${missing}${suffix}`, { method, headers: other.auth, body });
      expect(foreign.status, method + suffix).toBe(404);
      if (method !== 'PUT') expect(absent.status).toBe(404);
      if (method !== 'PUT') expect(await foreign.text()).toBe(await absent.text());
      else expectError(await json(foreign), 'not_found');
    }
    expect(await s.server.store.getTracker(owner.account, tracker)).toMatchObject({ state: 'sent' });
  });

  it('stores self-views (204) and re-labels a hit they explain in the feed, with the same id', async () => {
    const tracker = trackerId();
    // Sent a while ago: a fetch seconds after sending looks like a scanner.
    await putTracker(s.url, acc, tracker, { state: 'sent', sentAt: Date.now() - 10 * 60_000 });
    const start = await json<{ cursor: string }>(await fetch(`${s.url}/v1/events?wait=0`, { headers: acc.auth }));
    const at = Date.now();
    await fetch(`${s.url}/p/${acc.account}/${tracker}.gif`, {
      headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' },
    });
    const first = await json<{ events: Array<{ id: string; kind: string }>; cursor: string }>(
      await fetch(`${s.url}/v1/events?after=${start.cursor}`, { headers: acc.auth }),
    );
    expect(first.events).toHaveLength(1);
    const view = await fetch(`${s.url}/v1/trackers/${tracker}/self-views`, {
      method: 'POST',
      headers: acc.auth,
      body: JSON.stringify({ at }),
    });
    expect(view.status).toBe(204);
    expect((await s.server.store.getTracker(acc.account, tracker))?.selfViews).toEqual([at]);
    const after = await json<{ events: Array<{ id: string; kind: string }> }>(
      await fetch(`${s.url}/v1/events?after=${first.cursor}`, { headers: acc.auth }),
    );
    // SPEC §3: a person-like open next to the sender's own view is the sender's; it is re-announced once, same id.
    expect(first.events[0]!.kind).toBe('open');
    expect(after.events.map((e) => [e.id, e.kind])).toEqual([[first.events[0]!.id, 'self']]);
    expect((await s.server.store.trackerHits(acc.account, tracker))[0]?.hit.kind).toBe('self');
    for (const body of ['{}', '{"at":"now"}', '{"at":-5}', `{"at":${Date.now() + 3_600_000}}`, 'nope']) {
      const res = await fetch(`${s.url}/v1/trackers/${tracker}/self-views`, { method: 'POST', headers: acc.auth, body });
      expect(res.status, body).toBe(400);
      expectError(await json(res));
    }
  });
});

describe('events', () => {
  it('pages the feed with an opaque cursor; bad cursors and waits are 400', async () => {
    const acc = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/p/${acc.account}/${tracker}.gif`);
    const all = await json<{ events: unknown[]; cursor: string }>(await fetch(`${s.url}/v1/events`, { headers: acc.auth }));
    expect(all.events).toHaveLength(3);
    expect(typeof all.cursor).toBe('string');
    const none = await json(await fetch(`${s.url}/v1/events?after=${encodeURIComponent(all.cursor)}&wait=0`, { headers: acc.auth }));
    expect(none).toEqual({ events: [], cursor: all.cursor });
    for (const q of ['after=', 'after=abc', 'after=-1', 'wait=26', 'wait=-1', 'wait=abc', 'wait=1e3', 'after=1&after=2', `after=${'9'.repeat(80)}`]) {
      const res = await fetch(`${s.url}/v1/events?${q}`, { headers: acc.auth });
      expect(res.status, q).toBe(400);
      expectError(await json(res));
    }
  });

  it('holds a long-poll and releases it on a hit, long before its wait runs out', async () => {
    const acc = await newAccount(s.url);
    const tracker = trackerId();
    await putTracker(s.url, acc, tracker);
    const { cursor } = await json<{ cursor: string }>(await fetch(`${s.url}/v1/events`, { headers: acc.auth }));
    const polling = fetch(`${s.url}/v1/events?after=${cursor}&wait=20`, { headers: acc.auth }).then(async (r) => ({
      at: performance.now(),
      body: await json<{ events: Array<{ tracker: string }> }>(r),
    }));
    await new Promise((r) => setTimeout(r, 300));
    const pixel = await fetch(`${s.url}/p/${acc.account}/${tracker}.gif`);
    const answered = performance.now();
    await pixel.arrayBuffer();
    const { at, body } = await polling;
    expect(body.events.map((e) => e.tracker)).toEqual([tracker]);
    // Released by the hit, not by the clock: a quarter of the wait, not a fixed 100 ms, which a
    // machine busy with other programs does not keep (the hit reaches the feed through the ingest
    // worker; tests/bench for its latency).
    expect(at - answered).toBeLessThan(5_000);
  });

  it('returns an empty page when the wait runs out', async () => {
    const acc = await newAccount(s.url);
    const started = Date.now();
    const res = await fetch(`${s.url}/v1/events?wait=0.3`, { headers: acc.auth });
    expect(await json(res)).toEqual({ events: [], cursor: expect.any(String) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('releases a held long-poll as soon as its client goes away', async () => {
    const acc = await newAccount(s.url);
    const { cursor } = await json<{ cursor: string }>(await fetch(`${s.url}/v1/events`, { headers: acc.auth }));
    const gauge = async () => Number(/^openping_long_polls (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
    const before = await gauge();
    const abort = new AbortController();
    const polling = fetch(`${s.url}/v1/events?after=${cursor}&wait=20`, { headers: acc.auth, signal: abort.signal }).catch(() => 'aborted');
    while ((await gauge()) !== before + 1) await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    expect(await polling).toBe('aborted');
    const started = Date.now();
    while ((await gauge()) !== before && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 20));
    // Without the release the wait (and its gauge) would last the full 20 s.
    expect(await gauge()).toBe(before);
  });

  it('answers a held long-poll at once when the server shuts down, and closes promptly', async () => {
    const own = await startTestServer();
    try {
      const acc = await newAccount(own.url);
      const { cursor } = await json<{ cursor: string }>(await fetch(`${own.url}/v1/events`, { headers: acc.auth }));
      const polling = fetch(`${own.url}/v1/events?after=${cursor}&wait=20`, { headers: acc.auth }).then(async (r) => ({
        status: r.status,
        body: await json(r),
      }));
      const gauge = async () => /^openping_long_polls (\d+)$/m.exec(await (await fetch(`${own.url}/metrics`)).text())?.[1];
      while ((await gauge()) !== '1') await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      await own.server.close();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await polling).toEqual({ status: 200, body: { events: [], cursor } });
    } finally {
      await own.stop();
    }
  });
});

describe('the rest of the surface', () => {
  it('answers health, metrics, CORS preflight and unknown routes', async () => {
    expect(await json(await fetch(`${s.url}/healthz`))).toEqual({ ok: true, warnings: [] });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of ['openping_hits_total', 'openping_pixel_duration_seconds', 'openping_store_errors_total', 'openping_long_polls']) {
      expect(metrics).toContain(name);
    }
    // The SQLite hit log's backlog is exported, and nothing recorded stays waiting once the server is idle.
    expect(metrics).toMatch(/^openping_hit_log_pending_bytes \d+$/m);
    const pending = async () => /^openping_hit_log_pending_bytes (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];
    await expect.poll(pending, { timeout: 3_000 }).toBe('0');
    const preflight = await fetch(`${s.url}/v1/trackers/${trackerId()}`, {
      method: 'OPTIONS',
      headers: { origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('chrome-extension://abcdefghijklmnopabcdefghijklmnop');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/PUT/);
    for (const [method, path] of [['GET', '/'], ['GET', '/v2/events'], ['POST', '/v1/events'], ['GET', '/v1/accounts/me'], ['POST', '/p/a/b.gif']]) {
      const res = await fetch(`${s.url}${path}`, { method: method! });
      expect(res.status, `${method} ${path}`).toBe(404);
      expectError(await json(res), 'not_found');
    }
  });

  it('limits account creation per client network with 429', async () => {
    const limited = await startTestServer({ accountsPerHour: 3 });
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(`${limited.url}/v1/accounts`, { method: 'POST' })).status).toBe(201);
      const res = await fetch(`${limited.url}/v1/accounts`, { method: 'POST' });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expectError(await json(res), 'rate_limited');
    } finally {
      await limited.stop();
    }
  });
});

/**
 * The background against the REAL tracking server, in-process on port 0 with
 * a temp SQLite file (backend/server.ts): account creation, the outbox, the
 * feed, re-labels, a refused token and a server that is down.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { installFakeDnr } from './dnr-fake';
import { parseTrustProxy } from '../../backend/config';
import { handlers } from '../../lib/background';
import { closeDb, db } from '../../lib/db';
import { getTracker } from '../../lib/api';
import { flushOutbox, pendingEntries } from '../../lib/outbox';
import { loadIdentity, loadStatus, saveIdentity, saveSettings } from '../../lib/settings';
import { ensureAccount, stopLivePolling, syncOnce } from '../../lib/sync';
import { startTestServer, type Running } from '../server/helpers';

const THUNDERBIRD = 'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

let s: Running;
let dnr: ReturnType<typeof installFakeDnr>;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000, trustProxy: parseTrustProxy('loopback'), publicUrl: 'https://track.example' });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

afterEach(async () => {
  await stopLivePolling();
});

beforeEach(async () => {
  fakeBrowser.reset();
  dnr = installFakeDnr();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  await saveSettings({ server: s.url });
});

let n = 0;
function tracker(): string {
  n++;
  return `unitTracker${String(n).padStart(4, '0')}${Math.random().toString(36).slice(2, 9)}`.slice(0, 22);
}

async function fetchPixel(pixelBase: string, id: string, ua: string, ip: string): Promise<void> {
  const url = `${pixelBase}${id}.gif`.replace('https://track.example', s.url);
  const res = await fetch(url, { headers: { 'user-agent': ua, 'x-forwarded-for': ip } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

async function sendTracked(id: string, subject: string, sentAt = Date.now() - 60_000): Promise<void> {
  const res = await handlers.sent(
    {
      type: 'sent',
      email: {
        tracker: id,
        webmail: 'gmail',
        subject,
        recipients: [{ name: 'Ada Lovelace', address: 'ada@example.com' }],
        sentAt,
        threadUrl: 'https://mail.google.com/mail/u/0/#sent/abc',
      },
    },
    {},
  );
  expect(res).toEqual({ queued: true });
  await flushOutbox();
}

describe('with the real server', () => {
  it('creates an account on first start and answers identity with its pixel base', async () => {
    const identity = await ensureAccount();
    expect(identity?.account).toMatch(/^[A-Za-z0-9_-]{16,43}$/);
    expect(identity?.pixelBase).toBe(`https://track.example/p/${identity?.account}/`);
    expect(await loadIdentity()).toEqual(identity);
    // The onboarding work added allowLocalServer to the answer: the compose switch's setup check
    // needs it. Set here so the answer does not depend on the build flag OPENPING_ALLOW_LOCAL_SERVER.
    await saveSettings({ allowLocalServer: true });
    const answer = await handlers.identity({ type: 'identity' }, {});
    expect(answer).toEqual({ pixelBase: identity?.pixelBase, trackByDefault: true, allowLocalServer: true, setupProblem: null });
    expect((await loadStatus()).state).toBe('ok');
    expect(dnr.rules()).toEqual([
      {
        id: 1,
        priority: 1,
        action: { type: 'block' },
        condition: { urlFilter: `track.example/p/${identity?.account}/`, resourceTypes: expect.arrayContaining(['image']) },
      },
    ]);
  });

  it('registers a sent email through the outbox and turns a real open into an opened email and a notification', async () => {
    const identity = (await ensureAccount())!;
    const id = tracker();
    await sendTracked(id, 'Budget 2027');
    expect(await pendingEntries()).toEqual([]);
    const registered = await fetch(`${s.url}/v1/trackers/${id}`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(((await registered.json()) as { state: string }).state).toBe('sent');

    await fetchPixel(identity.pixelBase, id, THUNDERBIRD, '93.184.216.34');
    // The send started a live long poll (the sender is active); either it or this sync applies the hit, once.
    expect(await syncOnce()).toMatchObject({ ok: true });
    const email = await (await db()).get('emails', id);
    expect(email).toMatchObject({ subject: 'Budget 2027', opens: 1 });
    const shown = (await fakeBrowser.notifications.getAll()) as Record<string, { title: string; message: string }>;
    expect(shown[`openping:${id}`]?.title).toBe('Opened by Ada Lovelace');
    expect(shown[`openping:${id}`]?.message).toContain('Budget 2027');

    // Nothing new: the next sync applies nothing and shows nothing again.
    await stopLivePolling();
    await fakeBrowser.notifications.clear(`openping:${id}`);
    expect(await syncOnce()).toMatchObject({ ok: true, applied: 0, notified: 0 });
    expect(await fakeBrowser.notifications.getAll()).toEqual({});
  });

  it('reads every hit of a tracker by following `next` across the server\'s pages of 500', async () => {
    const identity = (await ensureAccount())!;
    const id = tracker();
    await sendTracked(id, 'Many fetches');
    // 1,201 hits over two clock hours (under the flood cap of each), stored directly; 400 share one time.
    const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const hits = Array.from({ length: 1201 }, (_, i) => ({
      id: `unitpage${String(i).padStart(5, '0')}`,
      account: identity.account,
      tracker: id,
      signals: {
        at: i < 400 ? base + 1000 : base + (i < 900 ? 2000 + i : 3_600_000 + i),
        method: 'GET' as const,
        userAgent: THUNDERBIRD,
        headers: {},
        network: { prefix: '93.184.216.0/24', family: 4 as const, asn: null, org: null },
      },
      classification: { kind: 'open' as const, via: null, reason: 'Opened in Thunderbird.', client: null },
      geo: null,
    }));
    expect(new Set(await s.server.store.recordHits([...hits].reverse()))).toEqual(new Set(['stored']));
    const first = (await (await fetch(`${s.url}/v1/trackers/${id}`, { headers: { authorization: `Bearer ${identity.token}` } })).json()) as {
      hits: unknown[];
      next: string | null;
    };
    expect(first.hits).toHaveLength(500);
    expect(first.next).not.toBeNull();
    const view = await getTracker(identity, id);
    expect(view).toMatchObject({ tracker: id, state: 'sent', dropped: 0 });
    expect(view.hits.map((h) => h.id)).toEqual(hits.map((h) => h.id));
  });

  it('a self-view arriving after a hit re-labels it: the open disappears, counted once', async () => {
    const identity = (await ensureAccount())!;
    const id = tracker();
    await sendTracked(id, 'Own view test');
    await fetchPixel(identity.pixelBase, id, GMAIL_PROXY, '66.249.93.10');
    await syncOnce();
    const before = await (await db()).get('emails', id);
    expect(before?.opens).toBe(1);
    const hits = await (await db()).getAllFromIndex('hits', 'byTracker', id);
    expect(hits).toHaveLength(1);

    await handlers.selfView({ type: 'selfView', trackers: [id], at: hits[0]!.at }, {});
    await flushOutbox();
    await syncOnce();
    const after = await (await db()).get('emails', id);
    expect(after?.opens).toBe(0);
    const relabelled = await (await db()).getAllFromIndex('hits', 'byTracker', id);
    expect(relabelled.map((h) => h.kind)).toEqual(['self']);
  });

  it('starts the feed again when the server no longer knows the cursor, without counting or notifying twice', async () => {
    const identity = (await ensureAccount())!;
    const id = tracker();
    await sendTracked(id, 'Cursor reset');
    await fetchPixel(identity.pixelBase, id, THUNDERBIRD, '93.184.216.34');
    expect(await syncOnce()).toMatchObject({ ok: true });
    await stopLivePolling();
    await fakeBrowser.notifications.clear(`openping:${id}`);
    // As after a database restore on the server: a cursor it never handed out.
    await (await db()).put('meta', 'not-a-cursor-of-this-server', 'cursor');
    const refused = await syncOnce();
    expect(refused.ok).toBe(false);
    expect(await (await db()).get('meta', 'cursor')).toBeUndefined();
    expect(await syncOnce()).toMatchObject({ ok: true });
    expect(await (await db()).get('emails', id)).toMatchObject({ opens: 1 });
    expect(await fakeBrowser.notifications.getAll()).toEqual({});
  });

  it('shows a refused token as a state, without throwing, and backs off', async () => {
    const identity = (await ensureAccount())!;
    await saveIdentity({ ...identity, token: 'A'.repeat(43) });
    const res = await syncOnce();
    expect(res.ok).toBe(false);
    const status = await loadStatus();
    expect(status.state).toBe('unauthorized');
    expect(status.retryAt).toBeGreaterThan(Date.now());
  });
});

describe('scheduled send', () => {
  it('registers a message scheduled for later as sent only shortly before it leaves', async () => {
    const identity = (await ensureAccount())!;
    const id = tracker();
    await handlers.armed({ type: 'armed', tracker: id }, {});
    await flushOutbox();
    const leaves = Date.now() + 2 * 3_600_000;
    await handlers.sent(
      { type: 'sent', email: { tracker: id, webmail: 'gmail', subject: 'Later', recipients: [], sentAt: leaves, threadUrl: null } },
      {},
    );
    await flushOutbox();
    const [entry] = await pendingEntries();
    expect(entry?.item).toEqual({ op: 'put', tracker: id, state: 'sent', sentAt: leaves });
    expect(entry?.nextAt).toBe(leaves - 60_000);
    expect(entry?.attempts).toBe(0);
    const onServer = await fetch(`${s.url}/v1/trackers/${id}`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(((await onServer.json()) as { state: string }).state).toBe('armed');
    expect((await (await db()).get('emails', id))?.tracking).toBe('sent');
  });
});

describe('with the server down', () => {
  it('keeps the email, queues the call, and shows an offline state', async () => {
    const down = await startTestServer({ accountsPerHour: 1000 });
    await saveSettings({ server: down.url });
    const identity = (await ensureAccount())!;
    expect(identity).not.toBeNull();
    await down.stop();

    const id = tracker();
    const res = await handlers.sent(
      { type: 'sent', email: { tracker: id, webmail: 'outlook', subject: 'While offline', recipients: [], sentAt: Date.now(), threadUrl: null } },
      {},
    );
    expect(res).toEqual({ queued: true });
    await flushOutbox();
    expect((await pendingEntries()).map((e) => e.item)).toEqual([{ op: 'put', tracker: id, state: 'sent', sentAt: expect.any(Number) }]);
    expect((await syncOnce()).ok).toBe(false);
    expect((await loadStatus()).state).toBe('offline');
    expect((await (await db()).get('emails', id))?.subject).toBe('While offline');
  });

  it('does not create an account while the server is down, and says so', async () => {
    const down = await startTestServer({ accountsPerHour: 1000 });
    await down.stop();
    await saveSettings({ server: down.url });
    expect(await ensureAccount()).toBeNull();
    const status = await loadStatus();
    expect(status.state).toBe('offline');
    expect(status.retryAt).toBeGreaterThan(Date.now());
    // Within the backoff a second call does not hammer the server.
    expect(await ensureAccount()).toBeNull();
    expect((await loadStatus()).failures).toBe(1);
  });
});

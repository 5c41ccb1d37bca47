/**
 * Options-page actions through the background's handlers, against the real
 * tracking server in-process: change server, delete everything; and the CSV export.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { installFakeDnr } from './dnr-fake';
import { handlers } from '../../lib/background';
import { closeDb, db, newEmailRecord, type HitRecord } from '../../lib/db';
import { enqueue, pendingEntries } from '../../lib/outbox';
import { loadIdentity, loadSettings, saveSettings, saveStatus } from '../../lib/settings';
import { csvCell, toCsv } from '../../lib/state/export';
import { ensureAccount, loadCursor, stopLivePolling } from '../../lib/sync';
import { startTestServer, type Running } from '../server/helpers';

const OWN_PAGE = { url: 'chrome-extension://test-extension-id/options.html' };

let a: Running;
let b: Running;
let dnr: ReturnType<typeof installFakeDnr>;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ accountsPerHour: 1000 }), startTestServer({ accountsPerHour: 1000 })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});
beforeEach(async () => {
  fakeBrowser.reset();
  dnr = installFakeDnr();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  await saveSettings({ server: a.url });
});
afterEach(async () => {
  await stopLivePolling();
});

describe('options actions', () => {
  it('tests a connection: a real server answers, a wrong path does not', async () => {
    expect(await handlers.testConnection({ type: 'testConnection', server: a.url }, OWN_PAGE)).toEqual({ ok: true, error: null, warnings: [] });
    const wrong = await handlers.testConnection({ type: 'testConnection', server: `${a.url}/not-here` }, OWN_PAGE);
    expect(wrong.ok).toBe(false);
    expect(wrong.error).toMatch(/\S/);
  });

  it('tests a connection: the server\'s /healthz warnings come back as its sentences', async () => {
    const local = await startTestServer({ publicUrl: 'http://localhost:8787' });
    try {
      const res = await handlers.testConnection({ type: 'testConnection', server: local.url }, OWN_PAGE);
      expect(res.ok).toBe(true);
      expect(res.warnings).toHaveLength(2);
      expect(res.warnings.map((w) => w.code)).toEqual(['public-url-local', 'public-url-http']);
      expect(res.warnings[0]!.message).toMatch(/^OPENPING_PUBLIC_URL .*localhost.*\.$/);
      expect(res.warnings[1]!.message).toMatch(/not https/);
    } finally {
      await local.stop();
    }
  });

  it('refuses options actions from a web page', async () => {
    const res = await handlers.deleteEverything({ type: 'deleteEverything' }, { url: 'https://mail.google.com/', tab: { url: 'https://mail.google.com/' } });
    expect(res.ok).toBe(false);
  });

  it('changes the server: a new account there, the old queue and cursor dropped', async () => {
    const first = (await ensureAccount())!;
    await (await db()).put('meta', '7', 'cursor');
    await enqueue({ op: 'put', tracker: 'tracker-old-account-01', state: 'armed' });
    const res = await handlers.changeServer({ type: 'changeServer', server: `${b.url}/` }, OWN_PAGE);
    expect(res).toEqual({ ok: true, error: null });
    const second = (await loadIdentity())!;
    expect(second.server).toBe(b.url);
    expect(second.account).not.toBe(first.account);
    expect((await loadSettings()).server).toBe(b.url);
    expect(await loadCursor()).toBeNull();
    expect(await pendingEntries()).toEqual([]);
    // The self-open rule now blocks the new account's pixels.
    expect(dnr.rules().map((r) => r.condition.urlFilter)).toEqual([`ping.example/p/${second.account}/`]);
  });

  it('does not switch to a server that does not answer', async () => {
    const first = (await ensureAccount())!;
    const res = await handlers.changeServer({ type: 'changeServer', server: 'http://127.0.0.1:9/' }, OWN_PAGE);
    expect(res.ok).toBe(false);
    expect(await loadIdentity()).toEqual(first);
    expect((await loadSettings()).server).toBe(a.url);
  });

  it('deletes everything: the account on the server and every local record', async () => {
    const identity = (await ensureAccount())!;
    await (await db()).put('emails', newEmailRecord('tracker-to-delete-0001', { subject: 'x', sentAt: 1 }));
    const res = await handlers.deleteEverything({ type: 'deleteEverything' }, OWN_PAGE);
    expect(res).toEqual({ ok: true, error: null });
    const check = await fetch(`${a.url}/v1/events`, { headers: { authorization: `Bearer ${identity.token}` } });
    expect(check.status).toBe(401);
    expect(await (await db()).count('emails')).toBe(0);
    expect(await loadIdentity()).toBeNull();
    expect(dnr.rules()).toEqual([]);
  });

  it('keeps everything when the server cannot be reached to delete the account', async () => {
    const down = await startTestServer({ accountsPerHour: 1000 });
    await saveSettings({ server: down.url });
    await ensureAccount();
    await down.stop();
    await (await db()).put('emails', newEmailRecord('tracker-to-keep-00001', { subject: 'keep', sentAt: 1 }));
    const res = await handlers.deleteEverything({ type: 'deleteEverything' }, OWN_PAGE);
    expect(res.ok).toBe(false);
    expect(res.error).toContain('Nothing was deleted');
    expect(await (await db()).count('emails')).toBe(1);
    expect(await loadIdentity()).not.toBeNull();
  });
});

describe('CSV export', () => {
  it('quotes, neutralises formulas, and writes one row per hit', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(null)).toBe('');
    const email = newEmailRecord('tracker-csv-000000001', {
      subject: 'Offer, final',
      recipients: [{ name: 'Ada', address: 'ada@example.com' }],
      sentAt: Date.UTC(2026, 10, 1),
      opens: 1,
    });
    const hit: HitRecord = {
      id: 'h1',
      tracker: email.tracker,
      at: Date.UTC(2026, 10, 2),
      kind: 'open',
      via: 'gmail-proxy',
      reason: 'Opened via Gmail',
      reasonCode: null,
      reasonParams: {},
      network: { prefix: '66.249.93.0/24', asn: 15169, org: 'Google LLC' },
      geo: null,
      client: { name: 'Gmail', os: null, device: null },
    };
    const silent = newEmailRecord('tracker-csv-000000002', { subject: 'No hits', sentAt: 5 });
    const csv = toCsv([email, silent], new Map([[email.tracker, [hit]]]));
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^tracker,subject,recipients,/);
    expect(lines[1]).toBe(
      'tracker-csv-000000001,"Offer, final",Ada <ada@example.com>,,2026-11-01T00:00:00.000Z,opened,1,,h1,2026-11-02T00:00:00.000Z,open,gmail-proxy,Opened via Gmail,,Google LLC,15169,Gmail',
    );
    expect(lines[2]).toMatch(/^tracker-csv-000000002,No hits,/);
  });
});

describe('reconnecting after a refused token', () => {
  beforeEach(async () => {
    fakeBrowser.reset();
    dnr = installFakeDnr();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
    await saveSettings({ server: a.url });
  });

  it('saving the same server keeps the account, unless the server refused its token', async () => {
    const first = (await ensureAccount())!;
    expect(await handlers.changeServer({ type: 'changeServer', server: a.url }, OWN_PAGE)).toEqual({ ok: true, error: null });
    expect((await loadIdentity())?.account).toBe(first.account);
    await saveStatus({ state: 'unauthorized', message: 'refused', lastOkAt: null, retryAt: Date.now() + 60_000, failures: 1 });
    expect(await handlers.changeServer({ type: 'changeServer', server: a.url }, OWN_PAGE)).toEqual({ ok: true, error: null });
    expect((await loadIdentity())?.account).not.toBe(first.account);
  });
});

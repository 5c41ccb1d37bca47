/**
 * Which browser notifies (issue 21): the decision per notification, and what delivery and reminders do
 * with it against a stand-in server (fetch stubbed; tests/server/sync-notify.test.ts tests the real one).
 * Also: a reminder travels in the sealed blob, and a snooze or a drop on one browser applies on another.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb, db, newEmailRecord } from '../../lib/db';
import { deliverPending, pendingKey, type PendingNotification } from '../../lib/notify';
import { deliveryOf, reminderClaimKey, type NotifyPolicy } from '../../lib/notify-policy';
import { deliverDigest, digestKey, type DigestEntry } from '../../lib/notify-rules';
import { applySyncedReminder, fireReminder, listReminders, REMINDER_ALARM_PREFIX, reminderKey } from '../../lib/reminders';
import { seal } from '../../lib/seal';
import { applyBlobChanges, docOf, loadKeyring, markShared, parseDoc, type SealedDoc, type SyncedReminder } from '../../lib/sealed-sync';
import { saveIdentity } from '../../lib/settings';

const ACCOUNT = 'account-policy-000001';
/** Never contacted: `fetch` is the stand-in server below, and `.invalid` resolves nowhere (RFC 2606) should it leak. */
const SERVER = 'https://track.invalid';
const ME = 'a'.repeat(22);
const OTHER = 'b'.repeat(22);
const T1 = 'tracker-policy-0000001';
const T2 = 'tracker-policy-0000002';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const DAY = 86_400_000;

/** The stand-in server: the account's policy, and per claim key the status it answers (200 unless said; 'down': unreachable). */
let policy: Omit<NotifyPolicy, 'you'>;
let claims: Record<string, 200 | 409 | 'down'>;
let claimed: string[];
let policyDown: boolean;

beforeEach(async () => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  policy = { mode: 'every', device: null };
  claims = {};
  claimed = [];
  policyDown = false;
  vi.stubGlobal('fetch', async (input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const reply = (status: number, body?: unknown) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (url.pathname === '/v1/account/notify') {
      if (policyDown) throw new TypeError('fetch failed');
      return reply(200, { ...policy, you: ME });
    }
    const claim = /^\/v1\/notifications\/([^/]+)\/claim$/.exec(url.pathname);
    if (claim && init?.method === 'POST') {
      const key = decodeURIComponent(claim[1]!);
      const answer = claims[key] ?? 200;
      if (answer === 'down') throw new TypeError('fetch failed');
      claimed.push(key);
      return answer === 200 ? reply(200, { key, device: ME, claimedAt: NOW }) : reply(409, { error: 'claimed', message: 'taken', key, device: OTHER });
    }
    if (url.pathname === '/v1/device/key') return new Response(null, { status: 204 });
    if (url.pathname.startsWith('/v1/blobs/')) return reply(200, { tracker: url.pathname.slice(10), seq: 1 });
    return reply(404, { error: 'not_found', message: url.pathname });
  });
  await saveIdentity({ server: SERVER, account: ACCOUNT, token: 't'.repeat(43), pixelBase: `${SERVER}/p/${ACCOUNT}/` });
  await markShared();
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the decision', () => {
  const p = (mode: NotifyPolicy['mode'], device: string | null = null): NotifyPolicy => ({ mode, device, you: ME });
  it('every browser shows an open; a reminder is claimed (it fires once)', () => {
    expect(deliveryOf('open', p('every'), true)).toBe('show');
    expect(deliveryOf('reminder', p('every'), true)).toBe('claim');
  });
  it('only this browser: shown here, silent on the others, opens and reminders alike', () => {
    expect(deliveryOf('open', p('one', ME), true)).toBe('show');
    expect(deliveryOf('reminder', p('one', ME), true)).toBe('show');
    expect(deliveryOf('open', p('one', OTHER), true)).toBe('skip');
    expect(deliveryOf('reminder', p('one', OTHER), true)).toBe('skip');
  });
  it('whichever is open: both are claimed', () => {
    expect(deliveryOf('open', p('once'), true)).toBe('claim');
    expect(deliveryOf('reminder', p('once'), true)).toBe('claim');
  });
  it('an account on one browser, or a policy never read, shows without asking anyone', () => {
    for (const mode of ['every', 'one', 'once'] as const) expect(deliveryOf('open', p(mode, OTHER), false)).toBe('show');
    expect(deliveryOf('open', null, true)).toBe('show');
    expect(deliveryOf('reminder', null, true)).toBe('show');
  });
  it("a reminder's claim key is its tracker and due time: a snooze is a new claim", () => {
    expect(reminderClaimKey(T1, NOW)).toBe(`${T1}@${NOW}`);
    expect(reminderClaimKey(T1, NOW + DAY)).not.toBe(reminderClaimKey(T1, NOW));
  });
});

async function pendingFor(tracker: string, ...hits: string[]): Promise<void> {
  const pending: PendingNotification = { id: `openping:${tracker}`, tracker, title: 'Opened', message: `“${tracker}”`, createdAt: NOW, hits };
  await (await db()).put('meta', pending, pendingKey(tracker));
}
const shown = async () => Object.keys(await fakeBrowser.notifications.getAll()).sort();
const stillPending = async () => (await (await db()).getAllKeys('meta')).filter((k) => String(k).startsWith('notify:')).sort();

describe('delivering an open', () => {
  it('every browser: shown, no claim made', async () => {
    await pendingFor(T1, 'hit-every-0001');
    expect(await deliverPending()).toBe(1);
    expect(await shown()).toEqual([`openping:${T1}`]);
    expect(claimed).toEqual([]);
  });

  it('only another browser: not shown here, and not kept', async () => {
    policy = { mode: 'one', device: OTHER };
    await pendingFor(T1, 'hit-other-0001');
    expect(await deliverPending()).toBe(0);
    expect(await shown()).toEqual([]);
    expect(await stillPending()).toEqual([]);
    expect(claimed).toEqual([]);
  });

  it('whichever is open: the claim won is shown, the claim lost is dropped, an unanswered one waits and is shown once won', async () => {
    policy = { mode: 'once', device: null };
    claims = { 'hit-won-000001': 200, 'hit-lost-00001': 409, 'hit-later-0001': 'down' };
    await pendingFor(T1, 'hit-won-000001');
    await pendingFor(T2, 'hit-lost-00001');
    await pendingFor('tracker-policy-0000003', 'hit-later-0001');
    expect(await deliverPending()).toBe(1);
    expect(await shown()).toEqual([`openping:${T1}`]);
    expect(await stillPending()).toEqual(['notify:tracker-policy-0000003']);
    expect(claimed.sort()).toEqual(['hit-lost-00001', 'hit-won-000001']);

    // The server is back, and the policy is read from this browser's copy while it cannot be asked.
    claims['hit-later-0001'] = 200;
    policyDown = true;
    expect(await deliverPending()).toBe(1);
    expect(await shown()).toEqual([`openping:${T1}`, 'openping:tracker-policy-0000003']);
    expect(await stillPending()).toEqual([]);
  });

  it('several opens in one batch: claimed in id order; the first lost stops there (silent), a first won shows', async () => {
    policy = { mode: 'once', device: null };
    claims = { '0000000a-lost': 409, '0000000c-lost': 409 };
    // Listed out of order: the claims go oldest first, and stop at the first lost.
    await pendingFor(T1, '0000000b-free', '0000000a-lost');
    expect(await deliverPending()).toBe(0);
    expect(claimed).toEqual(['0000000a-lost']);
    await pendingFor(T2, '0000000c-lost', '0000000b-free');
    expect(await deliverPending()).toBe(1);
    expect(claimed).toEqual(['0000000a-lost', '0000000b-free', '0000000c-lost']);
    expect(await shown()).toEqual([`openping:${T2}`]);
  });

  it('an account on one browser shows without asking the server', async () => {
    await markShared(false);
    policy = { mode: 'one', device: OTHER };
    await pendingFor(T1, 'hit-alone-0001');
    expect(await deliverPending()).toBe(1);
    expect(await shown()).toEqual([`openping:${T1}`]);
  });
});

describe('the daily digest', () => {
  const entry = (tracker: string): DigestEntry => ({ tracker, subject: 'Q3 budget', events: 2, lastAt: NOW - 1000 });
  const noQuiet = { quietFrom: null, quietTo: null };
  async function digestOf(tracker: string): Promise<void> {
    await (await db()).put('meta', entry(tracker), digestKey(tracker));
  }

  it('only another browser: no digest here, and its entries go', async () => {
    policy = { mode: 'one', device: OTHER };
    await digestOf(T1);
    expect(await deliverDigest(noQuiet, NOW)).toBe(false);
    expect(await shown()).toEqual([]);
    expect(await (await db()).get('meta', digestKey(T1))).toBeUndefined();
  });

  it("whichever is open: the browser that claims the day's digest shows it, another one does not", async () => {
    policy = { mode: 'once', device: null };
    await digestOf(T1);
    expect(await deliverDigest(noQuiet, NOW)).toBe(true);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatch(/^openping-digest@\d+$/);
    expect((await shown()).length).toBe(1);

    await fakeBrowser.notifications.clear((await shown())[0]!);
    claims = { [claimed[0]!]: 409 };
    await digestOf(T2);
    expect(await deliverDigest(noQuiet, NOW + 60_000)).toBe(false);
    expect(await shown()).toEqual([]);
  });
});

describe('a reminder across browsers', () => {
  const reminder = (dueAt: number): SyncedReminder => ({ condition: 'no-reply', afterDays: 3, dueAt, createdAt: NOW - DAY });
  const docWith = (r: SyncedReminder | null, t: number): SealedDoc => ({
    v: 1,
    fields: { subject: { value: 'Q3 budget', t: 1 }, recipients: { value: [{ name: 'Ada', address: 'ada@example.com' }], t: 1 }, sentAt: { value: NOW - 2 * DAY, t: 1 }, reminder: { value: r, t } },
  });
  async function arrive(doc: SealedDoc, seq: number): Promise<void> {
    const ring = await loadKeyring(ACCOUNT);
    await applyBlobChanges([{ tracker: T1, sealed: await seal(ring, T1, JSON.stringify(doc)), seq }], String(seq), async () => {}, applySyncedReminder);
  }
  const alarm = () => fakeBrowser.alarms.get(`${REMINDER_ALARM_PREFIX}${T1}`);

  it('set on A appears on B with its alarm; a snooze on A moves it; a drop on A removes it', async () => {
    await arrive(docWith(reminder(NOW + DAY), 100), 1);
    expect(await listReminders()).toEqual([{ tracker: T1, ...reminder(NOW + DAY) }]);
    expect((await alarm())?.scheduledTime).toBe(NOW + DAY);

    await arrive(docWith(reminder(NOW + 3 * DAY), 200), 2);
    expect((await listReminders()).map((r) => r.dueAt)).toEqual([NOW + 3 * DAY]);
    expect((await alarm())?.scheduledTime).toBe(NOW + 3 * DAY);

    // An older write (A's first version, arriving late) does not undo the snooze.
    await arrive(docWith(reminder(NOW + DAY), 150), 3);
    expect((await listReminders()).map((r) => r.dueAt)).toEqual([NOW + 3 * DAY]);

    await arrive(docWith(null, 300), 4);
    expect(await listReminders()).toEqual([]);
    expect(await alarm()).toBeUndefined();
  });

  it('B\'s own save of the email keeps the reminder A set, and B\'s drop is a newer write', async () => {
    await arrive(docWith(reminder(NOW + DAY), 100), 1);
    const record = (await (await db()).get('emails', T1))!;
    const previous = (await (await db()).get('meta', `sealed:${T1}`)) as SealedDoc;
    expect(docOf(record, previous, NOW).fields.reminder).toEqual({ value: reminder(NOW + DAY), t: 100 });
    expect(docOf(record, previous, NOW, null).fields.reminder).toEqual({ value: null, t: NOW });
    expect(() => parseDoc(JSON.stringify(docWith({ condition: 'whenever' } as never, 1)))).toThrow('could not be read');
  });

  it('fires on the browser that wins its claim (tracker@due), not on the one that loses it; unanswered, it retries in a minute', async () => {
    await (await db()).put('emails', newEmailRecord(T1, { subject: 'Q3 budget', recipients: [{ name: 'Ada', address: 'ada@example.com' }], sentAt: NOW - 3 * DAY }));
    await applySyncedReminder(T1, reminder(NOW));
    claims = { [`${T1}@${NOW}`]: 409 };
    expect(await fireReminder(T1, NOW)).toBe(false);
    expect(await shown()).toEqual([]);
    expect(claimed).toEqual([`${T1}@${NOW}`]);
    // Still listed as due here (dropped or snoozed by the person, anywhere).
    expect(await (await db()).get('meta', reminderKey(T1))).toBeTruthy();

    claims = { [`${T1}@${NOW}`]: 'down' };
    expect(await fireReminder(T1, NOW)).toBe(false);
    expect((await alarm())?.scheduledTime).toBe(NOW + 60_000);

    claims = {};
    expect(await fireReminder(T1, NOW + 60_000)).toBe(true);
    expect(await shown()).toEqual([`openping:${T1}`]);
  });
});

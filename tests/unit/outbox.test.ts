import { createServer } from 'node:net';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb } from '../../lib/db';
import { OUTBOX_ALARM, backoffDelay, enqueue, flushOutbox, pendingEntries } from '../../lib/outbox';
import { loadStatus, saveIdentity } from '../../lib/settings';

/** A local port with nothing listening: connections are refused, like a server that is down. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeEach(() => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
});

describe('backoffDelay', () => {
  it('doubles from 2 s and stops at 15 min, with ±20 % jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 2_000, 900_000, mid))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(backoffDelay(30, 2_000, 900_000, mid)).toBe(900_000);
    expect(backoffDelay(1, 2_000, 900_000, () => 0)).toBe(1_600);
    expect(backoffDelay(1, 2_000, 900_000, () => 0.999999)).toBe(2_400);
  });
});

describe('flushOutbox', () => {
  it('keeps entries while there is no account', async () => {
    await enqueue({ op: 'put', tracker: 'tracker-aaaaaaaaaaaaaa', state: 'armed' });
    const res = await flushOutbox();
    expect(res).toMatchObject({ sent: 0, remaining: 1 });
    expect(await pendingEntries()).toHaveLength(1);
  });

  it('backs off exponentially while the server is down and loses nothing', async () => {
    const port = await deadPort();
    await saveIdentity({ server: `http://127.0.0.1:${port}`, account: 'acct', token: 'tok', pixelBase: 'x' });
    const t0 = Date.now();
    await enqueue({ op: 'put', tracker: 'tracker-aaaaaaaaaaaaaa', state: 'sent', sentAt: t0 }, t0);
    await enqueue({ op: 'selfView', tracker: 'tracker-aaaaaaaaaaaaaa', at: t0 }, t0);
    await enqueue({ op: 'put', tracker: 'tracker-bbbbbbbbbbbbbb', state: 'armed' }, t0);

    let clock = t0;
    const first = await flushOutbox(() => clock);
    expect(first).toMatchObject({ sent: 0, remaining: 3 });
    let entries = await pendingEntries();
    // Only the first call is tried: the others would fail the same way.
    expect(entries.map((e) => e.attempts)).toEqual([1, 0, 0]);
    const delay1 = entries[0]!.nextAt - t0;
    expect(delay1).toBeGreaterThanOrEqual(1_600);
    expect(delay1).toBeLessThanOrEqual(2_400 + 1_000);
    expect((await loadStatus()).state).toBe('offline');
    expect(await fakeBrowser.alarms.get(OUTBOX_ALARM)).toBeDefined();

    // Not due yet: nothing is retried, and the later entries of the same tracker wait behind it.
    await flushOutbox(() => clock);
    entries = await pendingEntries();
    expect(entries.map((e) => e.attempts)).toEqual([1, 0, 0]);

    clock = entries[0]!.nextAt;
    await flushOutbox(() => clock);
    entries = await pendingEntries();
    expect(entries[0]!.attempts).toBe(2);
    const delay2 = entries[0]!.nextAt - clock;
    expect(delay2).toBeGreaterThanOrEqual(3_200);
    expect(delay2).toBeLessThanOrEqual(4_800 + 1_000);
    expect(entries).toHaveLength(3);
  });
});

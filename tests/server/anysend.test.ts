/**
 * The armed → sent rules of a pixel pasted into another mail app (issue 20,
 * backend/anysend.ts), through the HTTP API, on SQLite and on PostgreSQL.
 * The server trusts loopback's X-Forwarded-For, so a request names the
 * network it comes from: API calls and fetches without the header come from
 * 127.0.0.1, the sender's own network here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Account, type Running } from './helpers.ts';
import { createTestDatabase } from './pg.ts';

const THUNDERBIRD = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0';
/** Deutsche Telekom (AS3320), a residential network (tests/fixtures/classify-corpus.ts `telekom4`). */
const RESIDENTIAL = '84.150.10.10';
const RESIDENTIAL_2 = '84.150.77.3';
/** A network the account's API calls come from in one test (TEST-NET-3). */
const OFFICE = '203.0.113.9';
const OFFICE_OTHER_HOST = '203.0.113.77';

interface TrackerBody {
  tracker: string;
  state: 'armed' | 'sent';
  sentAt: number | null;
  sentBy: 'client' | 'fetch' | null;
  autoSend: boolean;
  hits: Array<{ id: string; at: number; kind: string; reason: string; network: { prefix: string } }>;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a pixel pasted into another app: armed → sent (${backend})`, () => {
    let s: Running;
    let acc: Account;
    let dropDatabase: () => Promise<void> = async () => undefined;

    beforeAll(async () => {
      let db: string | undefined;
      if (backend === 'postgres') {
        const pg = await createTestDatabase('anysend');
        db = pg.url;
        dropDatabase = pg.drop;
      }
      s = await startTestServer({ trustProxy: parseTrustProxy('loopback'), ...(db ? { db } : {}) });
      acc = await newAccount(s.url);
    });
    afterAll(async () => {
      await s?.stop();
      await dropDatabase();
    });

    async function pixel(tracker: string, ip: string | null, ua = THUNDERBIRD, account = acc): Promise<void> {
      const res = await fetch(`${s.url}/p/${account.account}/${tracker}.gif`, {
        headers: { 'user-agent': ua, accept: 'image/avif,image/webp,*/*', ...(ip ? { 'x-forwarded-for': ip } : {}) },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }

    async function tracker(id: string, account = acc): Promise<TrackerBody> {
      const res = await fetch(`${s.url}/v1/trackers/${id}`, { headers: account.auth });
      expect(res.status).toBe(200);
      return json<TrackerBody>(res);
    }

    async function armAutoSend(headers: Record<string, string> = {}, account = acc): Promise<string> {
      const id = trackerId();
      const res = await fetch(`${s.url}/v1/trackers/${id}`, {
        method: 'PUT',
        headers: { ...account.auth, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ state: 'armed', autoSend: true }),
      });
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({ tracker: id, state: 'armed', sentAt: null, sentBy: null, autoSend: true });
      return id;
    }

    it('fetches from the sender’s own network stay presend; the first from another network sends it and counts as an open', async () => {
      const id = await armAutoSend();
      await pixel(id, null);
      await pixel(id, null);
      expect(await tracker(id)).toMatchObject({ state: 'armed', sentAt: null, sentBy: null });

      const before = Date.now();
      await pixel(id, RESIDENTIAL);
      const sent = await tracker(id);
      expect(sent).toMatchObject({ state: 'sent', sentBy: 'fetch', autoSend: true });
      const outside = sent.hits.find((h) => h.network.prefix === '84.150.10.0/24')!;
      expect(sent.sentAt).toBe(outside.at);
      expect(outside.at).toBeGreaterThanOrEqual(before);
      // Not "too soon after sending": the send time is only known as that fetch's time.
      expect(outside).toMatchObject({ kind: 'open', reason: 'Opened in Thunderbird on Windows.' });
      expect(sent.hits.filter((h) => h.network.prefix === '127.0.0.0/24').map((h) => h.kind)).toEqual(['presend', 'presend']);

      // After it, the normal rules: a second reader's fetch is an open, not presend; sentAt stays.
      await pixel(id, RESIDENTIAL_2, 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15');
      const later = await tracker(id);
      expect(later.sentAt).toBe(sent.sentAt);
      expect(later.hits.find((h) => h.network.prefix === '84.150.77.0/24')?.kind).toBe('open');
    });

    it('counts every network the account’s API calls came from as its own', async () => {
      // An API call from the office network (the extension's long poll there, say).
      const seen = await fetch(`${s.url}/v1/events?wait=0`, { headers: { ...acc.auth, 'x-forwarded-for': OFFICE } });
      expect(seen.status).toBe(200);
      const id = await armAutoSend();
      // The desktop app on another machine of the office's /24.
      await pixel(id, OFFICE_OTHER_HOST);
      expect(await tracker(id)).toMatchObject({ state: 'armed', sentBy: null });
      await pixel(id, RESIDENTIAL);
      expect(await tracker(id)).toMatchObject({ state: 'sent', sentBy: 'fetch' });
    });

    it('another account’s networks are not this one’s', async () => {
      const other = await newAccount(s.url);
      const call = await fetch(`${s.url}/v1/events?wait=0`, { headers: { ...other.auth, 'x-forwarded-for': '198.51.100.20' } });
      expect(call.status).toBe(200);
      const id = await armAutoSend();
      await pixel(id, '198.51.100.21');
      expect(await tracker(id)).toMatchObject({ state: 'sent', sentBy: 'fetch' });
    });

    it('without autoSend a fetch from anywhere stays presend until the client says sent', async () => {
      const id = trackerId();
      expect((await putTracker(s.url, acc, id, { state: 'armed' })).status).toBe(200);
      await pixel(id, RESIDENTIAL);
      expect(await tracker(id)).toMatchObject({ state: 'armed', sentAt: null, autoSend: false });
      const res = await putTracker(s.url, acc, id, { state: 'sent' });
      expect(await json(res)).toMatchObject({ state: 'sent', sentBy: 'client', autoSend: false });
    });

    it('"I sent it" first: sent by the client, and a later outside fetch changes nothing of it', async () => {
      const id = await armAutoSend();
      await pixel(id, null);
      const draft = (await tracker(id)).hits[0]!;
      const sentAt = draft.at + 1;
      const res = await putTracker(s.url, acc, id, { state: 'sent', sentAt });
      expect(await json(res)).toEqual({ tracker: id, state: 'sent', sentAt, sentBy: 'client', autoSend: true });
      await pixel(id, RESIDENTIAL);
      const after = await tracker(id);
      expect(after).toMatchObject({ state: 'sent', sentAt, sentBy: 'client' });
      expect(after.hits[0]).toMatchObject({ id: draft.id, kind: 'presend' });
      expect(after.hits[1]!.kind).not.toBe('presend');
    });

    it('two outside fetches at once: one send time, neither presend', async () => {
      const id = await armAutoSend();
      await Promise.all([pixel(id, RESIDENTIAL), pixel(id, RESIDENTIAL_2)]);
      const after = await tracker(id);
      expect(after).toMatchObject({ state: 'sent', sentBy: 'fetch' });
      expect(after.hits.map((h) => h.at)).toContain(after.sentAt);
      expect(after.hits.filter((h) => h.kind === 'presend')).toEqual([]);
    });

    it('refuses an autoSend that is not a boolean', async () => {
      const res = await putTracker(s.url, acc, trackerId(), { state: 'armed', autoSend: 'yes' });
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ error: 'bad_request', message: expect.stringContaining('autoSend') });
    });
  });
}

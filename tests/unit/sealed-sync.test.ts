import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb, db, newEmailRecord } from '../../lib/db';
import { wrapForDevice } from '../../lib/keywrap';
import { generateAccountKey, seal } from '../../lib/seal';
import { applyBlobChanges, docOf, loadBlobCursor, loadKeyring, loggedOutOfShared, markShared, mergeDocs, parseDoc, type SealedDoc } from '../../lib/sealed-sync';
import { loadIdentity, saveIdentity } from '../../lib/settings';

const T1 = 'tracker-one-000000001';
const ACCOUNT = 'account-aaaaaaaaaaaa';
const DEVICE = 'd'.repeat(22);

beforeEach(async () => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  await saveIdentity({ server: 'http://localhost:8787', account: ACCOUNT, token: 't'.repeat(43), pixelBase: `http://localhost:8787/p/${ACCOUNT}/` });
});

const doc = (fields: SealedDoc['fields']): SealedDoc => ({ v: 1, fields });

describe('last writer wins per field', () => {
  it('takes each field from whichever side wrote it later', () => {
    const a = doc({ subject: { value: 'From A', t: 10 }, threadUrl: { value: 'https://a', t: 30 } });
    const b = doc({ subject: { value: 'From B', t: 20 }, threadUrl: { value: 'https://b', t: 5 }, sentAt: { value: 7, t: 1 } });
    expect(mergeDocs(a, b).fields).toEqual({ subject: { value: 'From B', t: 20 }, threadUrl: { value: 'https://a', t: 30 }, sentAt: { value: 7, t: 1 } });
  });

  it('is the same whichever order two browsers merge in, also on equal versions', () => {
    const a = doc({ subject: { value: 'Alpha', t: 10 } });
    const b = doc({ subject: { value: 'Beta', t: 10 } });
    expect(mergeDocs(a, b)).toEqual(mergeDocs(b, a));
  });

  it('a local save keeps the versions of the fields it did not change', () => {
    const record = newEmailRecord(T1, { subject: 'Hello', sentAt: 5 });
    const first = docOf(record, null, 100);
    const second = docOf({ ...record, subject: 'Hello again' }, first, 200);
    expect(second.fields.subject).toEqual({ value: 'Hello again', t: 200 });
    expect(second.fields.sentAt).toEqual({ value: 5, t: 100 });
  });

  it('a doc of the wrong shape is unreadable, not half applied', () => {
    expect(() => parseDoc('{"v":1,"fields":{"subject":{"value":42,"t":1}}}')).toThrow('could not be read');
    expect(() => parseDoc('not json')).toThrow('could not be read');
    expect(parseDoc('{"v":1,"fields":{"subject":{"value":"ok","t":1}}}').fields.subject).toEqual({ value: 'ok', t: 1 });
  });
});

describe('applyBlobChanges', () => {
  it('fills an email from another browser with its subject, and saves the cursor', async () => {
    const ring = await loadKeyring(ACCOUNT);
    const sealed = await seal(ring, T1, JSON.stringify(doc({ subject: { value: 'Quarterly', t: 1 }, sentAt: { value: 500, t: 1 } })));
    const forget = vi.fn(async () => {});
    expect(await applyBlobChanges([{ tracker: T1, sealed, seq: 3 }], '3', forget)).toBe(1);
    expect(await (await db()).get('emails', T1)).toMatchObject({ subject: 'Quarterly', sentAt: 500, sortAt: 500 });
    expect(await loadBlobCursor()).toBe('3');
    expect(forget).not.toHaveBeenCalled();
  });

  it('a blob tampered with on the server shows "could not be read", never its bytes', async () => {
    const ring = await loadKeyring(ACCOUNT);
    const sealed = await seal(ring, T1, JSON.stringify(doc({ subject: { value: 'Secret plan', t: 1 } })));
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    await applyBlobChanges([{ tracker: T1, sealed: tampered, seq: 1 }], '1', async () => {});
    expect((await (await db()).get('emails', T1))?.subject).toBe('(could not be read)');
  });

  it('a blob of a rotated key version: this browser fetches its wrap, unwraps it, reads the blob, keeps the key', async () => {
    const v2 = await generateAccountKey(2);
    let registered: string | null = null;
    const calls: string[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      const path = new URL(url).pathname;
      calls.push(`${init?.method ?? 'GET'} ${path}`);
      if (path === '/v1/device/key') {
        registered = (JSON.parse(String(init!.body)) as { publicKey: string }).publicKey;
        return new Response(null, { status: 204 });
      }
      if (path === '/v1/keys/2' && registered) {
        return Response.json({ version: 2, device: DEVICE, wrapped: await wrapForDevice(v2, DEVICE, registered) });
      }
      return Response.json({ error: 'not_found', message: 'no' }, { status: 404 });
    });
    try {
      await loadKeyring(ACCOUNT);
      const sealed = await seal(v2, T1, JSON.stringify(doc({ subject: { value: 'After rotation', t: 1 } })));
      const T2 = 'tracker-two-000000002';
      const sealed2 = await seal(v2, T2, JSON.stringify(doc({ subject: { value: 'Also', t: 1 } })));
      await applyBlobChanges([{ tracker: T1, sealed, seq: 1 }, { tracker: T2, sealed: sealed2, seq: 2 }], '2', async () => {});
      expect((await (await db()).get('emails', T1))?.subject).toBe('After rotation');
      expect((await (await db()).get('emails', T2))?.subject).toBe('Also');
      expect((await loadKeyring(ACCOUNT)).current.version).toBe(2);
      expect(calls.filter((c) => c === 'GET /v1/keys/2')).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a rotated version not handed to this browser (left out, or revoked) fails closed: "could not be read"', async () => {
    const calls: string[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
      if (new URL(url).pathname === '/v1/device/key') return new Response(null, { status: 204 });
      return Response.json({ error: 'no_key', message: 'No key of this version was handed to this browser' }, { status: 404 });
    });
    try {
      const sealed = await seal(await generateAccountKey(2), T1, JSON.stringify(doc({ subject: { value: 'Not for you', t: 1 } })));
      const T2 = 'tracker-two-000000002';
      const sealed2 = await seal(await generateAccountKey(2), T2, JSON.stringify(doc({ subject: { value: 'Nor this', t: 1 } })));
      await applyBlobChanges([{ tracker: T1, sealed, seq: 1 }, { tracker: T2, sealed: sealed2, seq: 2 }], '2', async () => {});
      expect((await (await db()).get('emails', T1))?.subject).toBe('(could not be read)');
      expect((await (await db()).get('emails', T2))?.subject).toBe('(could not be read)');
      expect((await loadKeyring(ACCOUNT)).current.version).toBe(1);
      // Asked once per sync, not once per blob.
      expect(calls.filter((c) => c === 'GET /v1/keys/2')).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a deletion from another browser forgets the email here', async () => {
    await (await db()).put('emails', newEmailRecord(T1, { subject: 'Bye' }));
    const forget = vi.fn(async () => {});
    await applyBlobChanges([{ tracker: T1, sealed: null, seq: 2 }], '2', forget);
    expect(forget).toHaveBeenCalledWith(T1);
  });

  it('a refused token on a shared account clears this browser; on an unshared one it does not', async () => {
    await (await db()).put('emails', newEmailRecord(T1, { subject: 'Mine' }));
    expect(await loggedOutOfShared()).toBe(false);
    expect(await loadIdentity()).not.toBeNull();
    await markShared();
    expect(await loggedOutOfShared()).toBe(true);
    expect(await loadIdentity()).toBeNull();
    expect(await (await db()).get('emails', T1)).toBeUndefined();
  });
});

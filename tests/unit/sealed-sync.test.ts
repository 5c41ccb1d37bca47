import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb, db, newEmailRecord } from '../../lib/db';
import { seal } from '../../lib/seal';
import { applyBlobChanges, docOf, loadBlobCursor, loadKeyring, loggedOutOfShared, markShared, mergeDocs, parseDoc, type SealedDoc } from '../../lib/sealed-sync';
import { loadIdentity, saveIdentity } from '../../lib/settings';

const T1 = 'tracker-one-000000001';
const ACCOUNT = 'account-aaaaaaaaaaaa';

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

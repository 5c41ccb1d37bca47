import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DB_NAME, DB_VERSION, closeDb, db } from '../../lib/db';
import { pixelUrlFilter, selfBlockRules } from '../../lib/dnr';

beforeEach(() => {
  closeDb();
  globalThis.indexedDB = new IDBFactory();
});

describe('db upgrades', () => {
  it('upgrades a version 1 database: records gain sortAt and lastOpenPlace and are in the new indexes', async () => {
    // A database as version 1 of lib/db.ts created it.
    const v1 = await openDB(DB_NAME, 1, {
      upgrade(d) {
        const emails = d.createObjectStore('emails', { keyPath: 'tracker' });
        emails.createIndex('bySentAt', 'sentAt');
        d.createObjectStore('hits', { keyPath: 'id' }).createIndex('byTracker', 'tracker');
        d.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true }).createIndex('byNextAt', 'nextAt');
        d.createObjectStore('meta');
      },
    });
    await v1.put('emails', { tracker: 'old-one-0000000000001', subject: 'Old', sentAt: 500, recipients: [], opens: 0 });
    await v1.put('emails', { tracker: 'old-two-0000000000002', subject: 'Feed only', sentAt: null, recipients: [], opens: 0 });
    v1.close();

    const d = await db();
    expect(d.version).toBe(DB_VERSION);
    expect([...d.transaction('emails').store.indexNames]).toContain('byUnseen');
    const upgraded = await d.get('emails', 'old-one-0000000000001');
    expect(upgraded).toMatchObject({ subject: 'Old', sortAt: 500, lastOpenPlace: null });
    const ordered = await d.getAllFromIndex('emails', 'bySortAt');
    expect(ordered.map((e) => e.tracker)).toEqual(['old-two-0000000000002', 'old-one-0000000000001']);
    expect(upgraded).toMatchObject({ threadId: null, messageId: null });
  });

  it('upgrades a version 4 database: emails gain threadId and messageId (null), the rest kept', async () => {
    closeDb();
    const v4 = await openDB(DB_NAME, 4, {
      upgrade(d) {
        const emails = d.createObjectStore('emails', { keyPath: 'tracker' });
        emails.createIndex('bySentAt', 'sentAt');
        emails.createIndex('bySortAt', 'sortAt');
        emails.createIndex('byUnseen', 'unseenOpens');
        d.createObjectStore('hits', { keyPath: 'id' }).createIndex('byTracker', 'tracker');
        d.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true }).createIndex('byNextAt', 'nextAt');
        d.createObjectStore('meta');
      },
    });
    await v4.put('emails', { tracker: 'v4-mail-000000000001', subject: 'Before ids', sentAt: 9, sortAt: 9, opens: 1, unseenOpens: 0, appleMppHits: 0 });
    v4.close();
    const d = await db();
    expect(await d.get('emails', 'v4-mail-000000000001')).toMatchObject({ subject: 'Before ids', opens: 1, threadId: null, messageId: null });
  });
});

describe('self-open block rule', () => {
  it('matches the pixel prefix without its scheme', () => {
    expect(pixelUrlFilter('https://track.example/p/AbCdEfGhIjKlMnOp/')).toBe('track.example/p/AbCdEfGhIjKlMnOp/');
    expect(pixelUrlFilter('http://localhost:8787/p/x/')).toBe('localhost:8787/p/x/');
  });

  it('is one blocking rule for images and the like, none without an account', () => {
    expect(selfBlockRules(null)).toEqual([]);
    const [rule] = selfBlockRules('https://track.example/p/acc/');
    expect(rule).toMatchObject({ action: { type: 'block' }, condition: { urlFilter: 'track.example/p/acc/' } });
    expect(rule!.condition.resourceTypes).toContain('image');
  });
});

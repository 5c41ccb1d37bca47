/**
 * The extension's one storage module (STYLE §7): a typed idb schema, one
 * memoized connection, upgrades branched on the old version.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Hit } from '../contract';
import type { MessageIds, Recipient, Webmail } from './webmail/types';

export interface EmailRecord {
  tracker: string;
  webmail: Webmail | null;
  /** null for a tracker seen only in the feed (sent from another browser of the same account). */
  subject: string | null;
  recipients: Recipient[];
  sentAt: number | null;
  threadUrl: string | null;
  /** `stopped`: the user stopped tracking it (hits are no longer shown as news). */
  tracking: 'armed' | 'sent' | 'stopped';
  opens: number;
  firstOpenAt: number | null;
  lastOpenAt: number | null;
  machineHits: number;
  /**
   * Since v4: the machine hits that are Apple Mail Privacy Protection's delivery fetch (kind `prefetch`,
   * via `apple-mpp`); when they are all of them, the popup says "delivered to Apple Mail" (SPEC §1).
   */
  appleMppHits: number;
  /** Opens the user has not looked at in the popup yet (badge). */
  unseenOpens: number;
  /** Epoch ms of the last notification for this email (re-open throttle). */
  notifiedAt: number | null;
  /** Since v2: the popup's sort key, newest first — sentAt, or the first hit's time for a tracker only seen in the feed. */
  sortAt: number;
  /** Since v2: "Berlin, DE" of the last open, for the popup row; null when unknown. */
  lastOpenPlace: string | null;
  /**
   * Where the message was written: absent or `webmail` (the Track switch in Gmail or Outlook on the web),
   * `another-app` (a pixel copied from the popup and pasted into another mail app, lib/anyapp.ts). Optional,
   * so records of earlier versions need no rewrite.
   */
  source?: 'webmail' | 'another-app';
  /** another-app: whether the server sends it at the first fetch from another network (PUT autoSend). */
  autoSend?: boolean;
  /** another-app: how it became sent — the user's "I sent it", or its first fetch from another network. */
  sentBy?: 'you' | 'first-fetch';
  /** The user muted this email's notifications (missing in records from before: not muted). */
  muted?: boolean;
  /**
   * Since v5: the webmail's own ids of the message (MessageIds), kept at send or learnt from
   * the page afterwards, so list rows and threads can be matched to it (issue 16).
   */
  threadId: string | null;
  messageId: string | null;
  /**
   * Issue 19: the first reply the user's own mailbox page showed in the thread (lib/replies.ts), who else
   * replied, as the page showed them. Absent in records from before (read as no reply; no migration needed).
   */
  repliedAt?: number | null;
  repliedBy?: Recipient | null;
  repliedOthers?: Recipient[];
  /**
   * Issue 19: the message began its thread (the page told no thread at send), so the thread held one
   * message then and a list row's count can tell a later one. Absent in records from before: not known.
   */
  startedThread?: boolean;
}

/**
 * A hit from the events feed: the server's Hit (SPEC §3), with `network` allowed
 * to be missing in records a tolerant reader kept from an odd server answer.
 */
/**
 * A hit as kept here. A server from before the reason codes sends none: then
 * `reasonCode` is null and `reasonParams` {} and the popup shows `reason`.
 */
export type HitRecord = Omit<Hit, 'network' | 'reasonCode'> & {
  network: Hit['network'] | null;
  /** Any string: a newer server may send a code this build has no words for. */
  reasonCode: string | null;
};

export type OutboxOp =
  | { op: 'put'; tracker: string; state: 'armed' | 'sent'; sentAt?: number; autoSend?: boolean }
  | { op: 'delete'; tracker: string }
  | { op: 'selfView'; tracker: string; at: number };

export interface OutboxEntry {
  id?: number;
  item: OutboxOp;
  attempts: number;
  /** Epoch ms before which the entry is not retried (backoff). */
  nextAt: number;
  createdAt: number;
}

export interface OpenPingDB extends DBSchema {
  emails: { key: string; value: EmailRecord; indexes: { bySentAt: number; bySortAt: number; byUnseen: number } };
  hits: { key: string; value: HitRecord; indexes: { byTracker: string } };
  outbox: { key: number; value: OutboxEntry; indexes: { byNextAt: number } };
  meta: { key: string; value: unknown };
}

export const DB_NAME = 'openping';
export const DB_VERSION = 5;

let connection: Promise<IDBPDatabase<OpenPingDB>> | null = null;

export function db(): Promise<IDBPDatabase<OpenPingDB>> {
  if (connection) return connection;
  const opening = openDB<OpenPingDB>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion, _newVersion, transaction) {
      // Record rewrites run one after the other: each reads a record and writes it whole.
      let rewrites: Promise<unknown> = Promise.resolve();
      if (oldVersion < 1) {
        const emails = database.createObjectStore('emails', { keyPath: 'tracker' });
        emails.createIndex('bySentAt', 'sentAt');
        const hits = database.createObjectStore('hits', { keyPath: 'id' });
        hits.createIndex('byTracker', 'tracker');
        const outbox = database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
        outbox.createIndex('byNextAt', 'nextAt');
        database.createObjectStore('meta');
      }
      if (oldVersion < 2) {
        const emails = transaction.objectStore('emails');
        emails.createIndex('bySortAt', 'sortAt');
        // Records written by v1 lack the v2 fields; fill them so every record is in the index.
        rewrites = emails.openCursor().then(async function fill(cursor): Promise<void> {
          if (!cursor) return;
          const v = cursor.value as Partial<EmailRecord> & EmailRecord;
          if (typeof v.sortAt !== 'number' || v.lastOpenPlace === undefined) {
            await cursor.update({ ...v, sortAt: v.sortAt ?? v.sentAt ?? 0, lastOpenPlace: v.lastOpenPlace ?? null });
          }
          return fill(await cursor.continue());
        });
      }
      if (oldVersion < 3) {
        // The badge and "mark seen" touch only emails with unseen opens, not all 10,000 (a readwrite scan blocked the popup).
        transaction.objectStore('emails').createIndex('byUnseen', 'unseenOpens');
      }
      if (oldVersion < 4) {
        // Count the Apple MPP hits of the emails already stored, so an Apple Mail reader's email shows it now,
        // not only after its next hit.
        const emails = transaction.objectStore('emails');
        const byTracker = transaction.objectStore('hits').index('byTracker');
        rewrites = rewrites.then(() => emails.openCursor()).then(async function fill(cursor): Promise<void> {
          if (!cursor) return;
          const hits = await byTracker.getAll(cursor.value.tracker);
          await cursor.update({ ...cursor.value, appleMppHits: hits.filter(isAppleMpp).length });
          return fill(await cursor.continue());
        });
      }
      if (oldVersion < 5) {
        // Emails sent before v5 have no webmail ids: null, matched by subject where that is unambiguous.
        const emails = transaction.objectStore('emails');
        rewrites = rewrites.then(() => emails.openCursor()).then(async function fill(cursor): Promise<void> {
          if (!cursor) return;
          const v = cursor.value as EmailRecord;
          if (v.threadId === undefined || v.messageId === undefined) {
            await cursor.update({ ...v, threadId: v.threadId ?? null, messageId: v.messageId ?? null });
          }
          return fill(await cursor.continue());
        });
      }
    },
    // Another context (popup, options) holding an old version must not block the upgrade forever.
    blocking() {
      closeDb();
    },
  });
  connection = opening;
  // A failed open (quota, a private window, a blocked upgrade) is not remembered: the next call tries again.
  opening.catch(() => {
    if (connection === opening) connection = null;
  });
  return opening;
}

/** Forgets the memoized connection and closes it (also after fakeBrowser.reset / deleteDB in tests). */
export function closeDb(): void {
  connection?.then((d) => d.close()).catch(() => undefined);
  connection = null;
}

/** Erases every local record (options page "delete everything"). */
export async function clearAll(): Promise<void> {
  const d = await db();
  const tx = d.transaction(['emails', 'hits', 'outbox', 'meta'], 'readwrite');
  await Promise.all([
    tx.objectStore('emails').clear(),
    tx.objectStore('hits').clear(),
    tx.objectStore('outbox').clear(),
    tx.objectStore('meta').clear(),
    tx.done,
  ]);
}

/** Apple Mail Privacy Protection's fetch on delivery (SPEC §3 kinds and vias): a machine, never a reader. */
export function isAppleMpp(hit: Pick<HitRecord, 'kind' | 'via'>): boolean {
  return hit.kind === 'prefetch' && hit.via === 'apple-mpp';
}

/** Only well-formed ids are kept: the page is not ours, and an id goes into selectors and URLs. */
export function cleanIds(ids: unknown): MessageIds {
  const ok = (v: unknown) => (typeof v === 'string' && /^[A-Za-z0-9_=+/.:-]{4,256}$/.test(v) ? v : null);
  const o = (typeof ids === 'object' && ids !== null ? ids : {}) as Record<string, unknown>;
  return { thread: ok(o.thread), message: ok(o.message) };
}

/** A fresh record for a tracker, before any hit. */
export function newEmailRecord(tracker: string, fields: Partial<EmailRecord> = {}): EmailRecord {
  const record: EmailRecord = {
    tracker,
    webmail: null,
    subject: null,
    recipients: [],
    sentAt: null,
    threadUrl: null,
    tracking: 'sent',
    opens: 0,
    firstOpenAt: null,
    lastOpenAt: null,
    machineHits: 0,
    appleMppHits: 0,
    unseenOpens: 0,
    notifiedAt: null,
    sortAt: 0,
    lastOpenPlace: null,
    threadId: null,
    messageId: null,
    ...fields,
  };
  record.sortAt = fields.sortAt ?? record.sentAt ?? 0;
  return record;
}

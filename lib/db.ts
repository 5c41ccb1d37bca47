/**
 * The extension's one storage module (STYLE §7): a typed idb schema, one
 * memoized connection, upgrades branched on the old version.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ClientInfo, HitKind } from '../backend/classify/types';
import type { Recipient, Webmail } from './webmail/types';

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
  /** Opens the user has not looked at in the popup yet (badge). */
  unseenOpens: number;
  /** Epoch ms of the last notification for this email (re-open throttle). */
  notifiedAt: number | null;
}

export interface HitRecord {
  id: string;
  tracker: string;
  at: number;
  kind: HitKind;
  via: string | null;
  reason: string;
  network: { prefix: string; asn: number | null; org: string | null } | null;
  geo: { country: string | null; region: string | null; city: string | null } | null;
  client: ClientInfo | null;
}

export type OutboxOp =
  | { op: 'put'; tracker: string; state: 'armed' | 'sent'; sentAt?: number }
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
  emails: { key: string; value: EmailRecord; indexes: { bySentAt: number } };
  hits: { key: string; value: HitRecord; indexes: { byTracker: string } };
  outbox: { key: number; value: OutboxEntry; indexes: { byNextAt: number } };
  meta: { key: string; value: unknown };
}

export const DB_NAME = 'openping';
export const DB_VERSION = 1;

let connection: Promise<IDBPDatabase<OpenPingDB>> | null = null;

export function db(): Promise<IDBPDatabase<OpenPingDB>> {
  connection ??= openDB<OpenPingDB>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        const emails = database.createObjectStore('emails', { keyPath: 'tracker' });
        emails.createIndex('bySentAt', 'sentAt');
        const hits = database.createObjectStore('hits', { keyPath: 'id' });
        hits.createIndex('byTracker', 'tracker');
        const outbox = database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
        outbox.createIndex('byNextAt', 'nextAt');
        database.createObjectStore('meta');
      }
    },
  });
  return connection;
}

/** For tests: forget the memoized connection (after fakeBrowser.reset / deleteDB). */
export function closeDb(): void {
  void connection?.then((d) => d.close());
  connection = null;
}

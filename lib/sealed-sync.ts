/**
 * Sealed metadata across the browsers of one account (issue 21). What this browser keeps of an email —
 * subject, recipients, thread link, webmail, send time — goes to the server only as a blob sealed under
 * the account's key (lib/seal.ts); the server keeps ciphertext and a change sequence, and hands the
 * changes out alongside the events feed (GET /v1/events?blobsAfter=…, README "One account on several
 * browsers"). Each browser merges what it reads into IndexedDB: last writer wins per field, each field
 * carrying the time it was written (its version).
 *
 * The keyring lives in browser.storage.local next to the identity, tied to the account it belongs to:
 * a new account (first start, another server) gets a new key; joining another browser's account
 * (lib/pairing.ts) replaces it with that account's.
 */
import { browser } from 'wxt/browser';
import { ApiError, request, type Credentials } from './api';
import { clearAll, db, newEmailRecord, type EmailRecord } from './db';
import { t } from './i18n';
import { exportKey, generateAccountKey, importKey, keyring, openSealed, seal, UnreadableError, type Keyring } from './seal';
import { initialStatus, loadIdentity, saveIdentity, saveStatus, touchData, type Identity } from './settings';
import type { Recipient, Webmail } from './webmail/types';

const KEYRING_KEY = 'keyring';
/** Set once this account is on more than one browser (a pairing was made or joined). */
const SHARED_KEY = 'sharedAccount';
/** Trackers whose blob still has to reach the server (a put or a delete), oldest first. */
const PENDING_KEY = 'sealedPending';
const BLOB_CURSOR_KEY = 'blobCursor';
const DOC_PREFIX = 'sealed:';
const TOMBSTONE_PREFIX = 'deleted:';

// ---------------------------------------------------------------- the blob's contents

export interface SealedFields {
  subject: string | null;
  recipients: Recipient[];
  threadUrl: string | null;
  sentAt: number | null;
  webmail: Webmail | null;
}
export type FieldName = keyof SealedFields;
const FIELDS: readonly FieldName[] = ['subject', 'recipients', 'threadUrl', 'sentAt', 'webmail'];

/** Each field with the time (epoch ms) it was last written: its version for last-writer-wins. */
export interface SealedDoc {
  v: 1;
  fields: { [K in FieldName]?: { value: SealedFields[K]; t: number } };
}

/**
 * Last writer wins per field. Equal times (two browsers in the same millisecond) are settled by the
 * values' JSON, so every browser merging the same two docs ends with the same one.
 */
export function mergeDocs(a: SealedDoc, b: SealedDoc): SealedDoc {
  const fields: SealedDoc['fields'] = {};
  for (const name of FIELDS) {
    const x = a.fields[name];
    const y = b.fields[name];
    const pick = !x ? y : !y ? x : y.t > x.t ? y : y.t < x.t ? x : JSON.stringify(y.value) > JSON.stringify(x.value) ? y : x;
    if (pick) (fields as Record<string, unknown>)[name] = pick;
  }
  return { v: 1, fields };
}

/** A doc for what the record holds now: fields unchanged since `previous` keep their version. */
export function docOf(record: EmailRecord, previous: SealedDoc | null, now: number): SealedDoc {
  const fields: SealedDoc['fields'] = {};
  for (const name of FIELDS) {
    const value = record[name];
    const before = previous?.fields[name];
    (fields as Record<string, unknown>)[name] =
      before && JSON.stringify(before.value) === JSON.stringify(value) ? before : { value, t: now };
  }
  return { v: 1, fields };
}

/** Reads a doc out of opened plaintext; anything not shaped like one is unreadable, never half-applied. */
export function parseDoc(text: string): SealedDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UnreadableError('malformed');
  }
  const doc = raw as Partial<SealedDoc> | null;
  if (!doc || doc.v !== 1 || !doc.fields || typeof doc.fields !== 'object') throw new UnreadableError('malformed');
  const fields: SealedDoc['fields'] = {};
  for (const name of FIELDS) {
    const f = (doc.fields as Record<string, unknown>)[name] as { value?: unknown; t?: unknown } | undefined;
    if (f === undefined) continue;
    if (!f || typeof f.t !== 'number' || !validField(name, f.value)) throw new UnreadableError('malformed');
    (fields as Record<string, unknown>)[name] = { value: f.value, t: f.t };
  }
  return { v: 1, fields };
}

function validField(name: FieldName, value: unknown): boolean {
  switch (name) {
    case 'subject':
    case 'threadUrl':
      return value === null || typeof value === 'string';
    case 'sentAt':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
    case 'webmail':
      return value === null || value === 'gmail' || value === 'outlook';
    case 'recipients':
      return Array.isArray(value) && value.every((r) => r && typeof r === 'object' && typeof (r as Recipient).address === 'string');
  }
}

// ---------------------------------------------------------------- the keyring

interface StoredKeyring {
  account: string;
  keys: { version: number; raw: string }[];
}

/** The account's keyring; a new one (version 1) for an account that has none here yet. */
export async function loadKeyring(account: string): Promise<Keyring> {
  const stored = (await browser.storage.local.get(KEYRING_KEY))[KEYRING_KEY] as StoredKeyring | undefined;
  if (stored && stored.account === account && stored.keys.length > 0) return keyring(await Promise.all(stored.keys.map(importKey)));
  const ring = keyring([await generateAccountKey(1)]);
  await saveKeyring(account, ring);
  return ring;
}

export async function saveKeyring(account: string, ring: Keyring): Promise<void> {
  const keys = await Promise.all([...ring.all].map(([version, key]) => exportKey({ version, key })));
  await browser.storage.local.set({ [KEYRING_KEY]: { account, keys } satisfies StoredKeyring });
}

export async function markShared(shared = true): Promise<void> {
  if (shared) await browser.storage.local.set({ [SHARED_KEY]: true });
  else await browser.storage.local.remove(SHARED_KEY);
}

export async function isShared(): Promise<boolean> {
  return (await browser.storage.local.get(SHARED_KEY))[SHARED_KEY] === true;
}

// ---------------------------------------------------------------- writing

async function pending(): Promise<string[]> {
  const value = (await browser.storage.local.get(PENDING_KEY))[PENDING_KEY];
  return Array.isArray(value) ? (value as string[]) : [];
}

async function setPending(list: string[]): Promise<void> {
  await browser.storage.local.set({ [PENDING_KEY]: [...new Set(list)] });
}

/** After a local save of an email: its blob goes to the server now, or at the next sync if it cannot. */
export async function queueBlob(tracker: string): Promise<void> {
  const database = await db();
  const record = await database.get('emails', tracker);
  if (!record) return;
  const previous = ((await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined) ?? null;
  await database.put('meta', docOf(record, previous, Date.now()), `${DOC_PREFIX}${tracker}`);
  await setPending([...(await pending()), tracker]);
  await pushPendingBlobs().catch((e) => console.warn('[openping] sealed blob not sent yet', e));
}

/** After a local delete of an email: every browser of the account deletes it too. */
export async function queueBlobDelete(tracker: string): Promise<void> {
  await (await db()).delete('meta', `${DOC_PREFIX}${tracker}`);
  await setPending([...(await pending()), tracker]);
  await pushPendingBlobs().catch((e) => console.warn('[openping] sealed delete not sent yet', e));
}

let pushing: Promise<void> | null = null;

/** Sends what is pending, oldest first; stops at the first failure that may pass (kept for the next sync). */
export function pushPendingBlobs(): Promise<void> {
  pushing ??= (async () => {
    const identity = await loadIdentity();
    if (!identity) return;
    const ring = await loadKeyring(identity.account);
    const database = await db();
    for (const tracker of await pending()) {
      const doc = (await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined;
      try {
        if (doc) await putBlob(identity, tracker, await seal(ring, tracker, JSON.stringify(doc)));
        else await deleteBlob(identity, tracker);
      } catch (error) {
        if (!(error instanceof ApiError) || error.retryable) throw error;
        console.warn('[openping] sealed blob refused by the server', tracker, error.message);
      }
      await setPending((await pending()).filter((x) => x !== tracker));
    }
  })().finally(() => {
    pushing = null;
  });
  return pushing;
}

// ---------------------------------------------------------------- reading (the sync loop's hook)

export interface BlobChange {
  tracker: string;
  sealed: string | null;
  seq: number;
}

export async function loadBlobCursor(): Promise<string> {
  const value = await (await db()).get('meta', BLOB_CURSOR_KEY);
  return typeof value === 'string' ? value : '0';
}

/**
 * Applies the blob changes of one events page (lib/sync.ts calls it) and saves their cursor. Returns how
 * many changes it applied. A blob this browser cannot open (tampered on the server, another key) shows as
 * "could not be read", never as what its bytes would decode to.
 */
export async function applyBlobChanges(blobs: readonly BlobChange[] | undefined, cursor: string | undefined, forget: (tracker: string) => Promise<void>): Promise<number> {
  if (!blobs || cursor === undefined) return 0;
  const identity = await loadIdentity();
  if (!identity) return 0;
  const ring = await loadKeyring(identity.account);
  const database = await db();
  let applied = 0;
  for (const change of blobs) {
    if (typeof change?.tracker !== 'string') continue;
    const { tracker } = change;
    if (change.sealed === null) {
      await forget(tracker);
      await database.delete('meta', `${DOC_PREFIX}${tracker}`);
      applied++;
      continue;
    }
    if ((await database.get('meta', `${TOMBSTONE_PREFIX}${tracker}`)) !== undefined) continue;
    let incoming: SealedDoc | null = null;
    try {
      incoming = parseDoc(await openSealed(ring, tracker, change.sealed));
    } catch (error) {
      if (!(error instanceof UnreadableError)) throw error;
    }
    const tx = database.transaction(['emails', 'meta'], 'readwrite');
    const existing = await tx.objectStore('emails').get(tracker);
    if (!incoming) {
      const unreadable = t('devices.unreadable');
      await tx.objectStore('emails').put({ ...(existing ?? newEmailRecord(tracker)), subject: unreadable });
    } else {
      const local = ((await tx.objectStore('meta').get(`${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined) ?? null;
      const merged = local ? mergeDocs(local, incoming) : incoming;
      await tx.objectStore('meta').put(merged, `${DOC_PREFIX}${tracker}`);
      const record = { ...(existing ?? newEmailRecord(tracker)) };
      for (const name of FIELDS) {
        const field = merged.fields[name];
        if (field) (record as Record<string, unknown>)[name] = field.value;
      }
      if (!existing && record.sentAt !== null) record.sortAt = record.sentAt;
      await tx.objectStore('emails').put(record);
    }
    await tx.done;
    applied++;
  }
  await database.put('meta', cursor, BLOB_CURSOR_KEY);
  if (applied > 0) await touchData();
  return applied;
}

/**
 * The server refused this browser's token. On an account shared with other browsers that means it was
 * revoked here, or "Delete everything" ran on another of them: this browser's copy of that account's
 * data goes too, and it starts afresh (a new anonymous account at the next tick). Returns whether it did.
 */
export async function loggedOutOfShared(): Promise<boolean> {
  if (!(await isShared())) return false;
  await clearAll();
  await saveIdentity(null);
  await saveStatus(initialStatus);
  await browser.storage.local.remove([KEYRING_KEY, SHARED_KEY, PENDING_KEY]);
  await touchData();
  return true;
}

// ---------------------------------------------------------------- HTTP (README "One account on several browsers")

function putBlob(creds: Credentials, tracker: string, sealed: string): Promise<unknown> {
  return request(creds.server, `/v1/blobs/${encodeURIComponent(tracker)}`, { method: 'PUT', token: creds.token, body: { sealed } });
}

function deleteBlob(creds: Credentials, tracker: string): Promise<unknown> {
  return request(creds.server, `/v1/blobs/${encodeURIComponent(tracker)}`, { method: 'DELETE', token: creds.token });
}

export type { Identity };

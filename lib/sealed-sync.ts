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
import { exportPublicKey, generateDeviceKeyPair, unwrapForDevice, wrapForDevice } from './keywrap';
import { exportKey, generateAccountKey, importKey, keyring, openSealed, reseal, seal, sealedVersion, UnreadableError, type AccountKey, type Keyring } from './seal';
import { initialStatus, loadIdentity, saveIdentity, saveStatus, touchData, type Identity } from './settings';
import { serial } from './serial';
import type { Recipient, Webmail } from './webmail/types';

const KEYRING_KEY = 'keyring';
/** Set once this account is on more than one browser (a pairing was made or joined). */
const SHARED_KEY = 'sharedAccount';
/** Trackers whose blob still has to reach the server (a put or a delete), oldest first. */
const PENDING_KEY = 'sealedPending';
const BLOB_CURSOR_KEY = 'blobCursor';
const DOC_PREFIX = 'sealed:';
/** This browser's ECDH pair (lib/keywrap.ts), in IndexedDB: a CryptoKey is stored as is, the private half non-extractable. */
const DEVICE_KEY = 'deviceKey';
const TOMBSTONE_PREFIX = 'deleted:';
/** Per tracker, the seq of the server's blob this browser last merged or wrote: what its next put builds on. */
const SEQ_PREFIX = 'blobSeq:';
/** The last re-seal pass: its account, key version, and the blobs it could not open (so it is not repeated for them). */
const RESEALED_KEY = 'resealed';

// ---------------------------------------------------------------- the blob's contents

/** An email's follow-up reminder as it travels between browsers (lib/reminders.ts Reminder, less its tracker). */
export interface SyncedReminder {
  condition: 'no-reply' | 'not-opened';
  afterDays: number | null;
  dueAt: number;
  createdAt: number;
}

export interface SealedFields {
  subject: string | null;
  recipients: Recipient[];
  threadUrl: string | null;
  sentAt: number | null;
  webmail: Webmail | null;
  /** Null once dropped; a snooze is a new dueAt. Kept in `meta` beside the email, not in its record. */
  reminder: SyncedReminder | null;
}
export type FieldName = keyof SealedFields;
/** The fields an email record holds. */
type RecordField = Exclude<FieldName, 'reminder'>;
const RECORD_FIELDS: readonly RecordField[] = ['subject', 'recipients', 'threadUrl', 'sentAt', 'webmail'];
const FIELDS: readonly FieldName[] = [...RECORD_FIELDS, 'reminder'];

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

/**
 * A doc for what the record (and the email's reminder) holds now: fields unchanged since `previous` keep
 * their version. `reminder` undefined: the reminder is not being changed, its field stays as it was.
 */
export function docOf(record: EmailRecord, previous: SealedDoc | null, now: number, reminder?: SyncedReminder | null): SealedDoc {
  const fields: SealedDoc['fields'] = {};
  if (reminder === undefined) {
    if (previous?.fields.reminder) fields.reminder = previous.fields.reminder;
  } else {
    const before = previous?.fields.reminder;
    fields.reminder = before && JSON.stringify(before.value) === JSON.stringify(reminder) ? before : { value: reminder, t: now };
  }
  for (const name of RECORD_FIELDS) {
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
    case 'reminder':
      return value === null || validReminder(value);
  }
}

function validReminder(value: unknown): value is SyncedReminder {
  const r = value as Partial<SyncedReminder> | null;
  return (
    !!r &&
    typeof r === 'object' &&
    (r.condition === 'no-reply' || r.condition === 'not-opened') &&
    (r.afterDays === null || (typeof r.afterDays === 'number' && Number.isInteger(r.afterDays))) &&
    typeof r.dueAt === 'number' &&
    Number.isFinite(r.dueAt) &&
    typeof r.createdAt === 'number' &&
    Number.isFinite(r.createdAt)
  );
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

// ---------------------------------------------------------------- key rotation (lib/keywrap.ts)

interface StoredDeviceKey {
  account: string;
  privateKey: CryptoKey;
  publicKey: string;
  /** Whether the server has the public key (PUT /v1/device/key answered). */
  registered: boolean;
}

/**
 * Makes this browser's key pair for the account (once) and registers its public half with the server,
 * so a later rotation can hand it the new key. Browsers from before rotation register at their next
 * sync; until they do, a rotation leaves them out (they read "could not be read" and are asked to pair
 * again — fail closed, README "Your browsers").
 */
export async function ensureDeviceKey(identity: Identity): Promise<StoredDeviceKey> {
  const database = await db();
  let stored = (await database.get('meta', DEVICE_KEY)) as StoredDeviceKey | undefined;
  if (!stored || stored.account !== identity.account) {
    const pair = await generateDeviceKeyPair();
    stored = { account: identity.account, privateKey: pair.privateKey, publicKey: await exportPublicKey(pair.publicKey), registered: false };
    await database.put('meta', stored, DEVICE_KEY);
  }
  if (!stored.registered) {
    try {
      await request(identity.server, '/v1/device/key', { method: 'PUT', token: identity.token, body: { publicKey: stored.publicKey } });
    } catch (error) {
      // 409: the server holds another key for this token (this browser's storage was reset): rotations
      // cannot reach this browser; said out loud, and it keeps the keys it has.
      if (!(error instanceof ApiError) || error.status !== 409) throw error;
      console.warn('[openping] the server already holds another key for this browser; pair it again to receive new keys');
    }
    stored = { ...stored, registered: true };
    await database.put('meta', stored, DEVICE_KEY);
  }
  return stored;
}

/** Fetches and unwraps key `version` made for this browser; null when none was (left out, or no such version). */
async function fetchWrappedKey(identity: Identity, version: number): Promise<AccountKey | null> {
  const own = (await (await db()).get('meta', DEVICE_KEY)) as StoredDeviceKey | undefined;
  if (!own || own.account !== identity.account) return null;
  let answer: { version: number; device: string; wrapped: string };
  try {
    answer = await request(identity.server, `/v1/keys/${version}`, { token: identity.token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
  try {
    return await unwrapForDevice(answer.wrapped, answer.device, version, own.privateKey);
  } catch (error) {
    if (error instanceof UnreadableError) return null;
    throw error;
  }
}

/** The keyring with key `version` added when this browser was handed it; the same ring otherwise. */
async function ringWith(identity: Identity, ring: Keyring, version: number | null, lacking: Set<number>): Promise<Keyring> {
  if (version === null || ring.all.has(version) || lacking.has(version)) return ring;
  const key = await fetchWrappedKey(identity, version);
  if (!key) {
    lacking.add(version);
    console.warn(`[openping] key version ${version} was not handed to this browser; pair it again`);
    return ring;
  }
  const next = keyring([...[...ring.all].map(([v, k]) => ({ version: v, key: k })), key]);
  await saveKeyring(identity.account, next);
  return next;
}

/** Where the account's key rotation stands (GET /v1/keys, and alongside the feed's blobs). */
export interface KeyState {
  version: number;
  /** A browser was revoked and no newer key handed out since: a rotation is owed. */
  rekey: boolean;
  /** Blobs still sealed under an older version. */
  stale: number;
}

function getKeyState(identity: Identity): Promise<KeyState> {
  return request<KeyState>(identity.server, '/v1/keys', { token: identity.token });
}

/**
 * After revoking a browser: key version n+1 for the browsers that remain, wrapped for each (the server
 * and the revoked browser never see it), then every blob on the server re-sealed under it. Returns the
 * browsers left out because they registered no key (from before rotation): they must be paired again.
 *
 * The server records each step (KeyState), so a rotation cut short — the browser closed or crashed — is
 * finished at the next sync of this or any other browser (finishRotation). The key goes to the server
 * before this browser seals anything under it, so no blob is ever sealed under a key the others lack.
 */
export async function rotateKey(identity: Identity): Promise<{ version: number; leftOut: string[] }> {
  await ensureDeviceKey(identity);
  const { devices } = await request<{ devices: { id: string; name: string | null; publicKey: string | null }[] }>(identity.server, '/v1/devices', { token: identity.token });
  const state = await getKeyState(identity);
  let ring = await ringWith(identity, await loadKeyring(identity.account), state.version, new Set());
  const next = await generateAccountKey(Math.max(ring.current.version, state.version) + 1);
  const withKey = devices.filter((d) => d.publicKey !== null);
  const wraps = await Promise.all(withKey.map(async (d) => ({ device: d.id, wrapped: await wrapForDevice(next, d.id, d.publicKey!) })));
  try {
    await request(identity.server, '/v1/keys', { method: 'POST', token: identity.token, body: { version: next.version, wraps } });
    ring = keyring([...[...ring.all].map(([version, key]) => ({ version, key })), next]);
    await saveKeyring(identity.account, ring);
  } catch (error) {
    // Another browser rotated first (two finishing one interrupted rotation): its key is the one to re-seal under.
    if (!(error instanceof ApiError) || error.code !== 'key_exists') throw error;
    const now = await getKeyState(identity);
    ring = await ringWith(identity, ring, now.version, new Set());
    if (ring.current.version !== now.version) throw error;
  }
  await resealAll(identity, ring);
  return { version: ring.current.version, leftOut: devices.filter((d) => d.publicKey === null).map((d) => d.name ?? d.id) };
}

/**
 * Finishes a key rotation that was cut short (KeyState from the feed): the revoking browser was closed
 * after the revoke but before handing out the new key (`rekey`: a rotation is made now), or while
 * re-sealing (`stale`: the blobs still under an older key are re-sealed). Any browser of the account
 * holding the current key does it, the one that started or another; running it twice, or on two browsers
 * at once, is safe: a key version is handed out once, and a re-seal builds on the blob's seq.
 */
export async function finishRotation(identity: Identity, keys: KeyState | undefined): Promise<void> {
  if (!keys) return;
  if (keys.rekey) {
    await rotateKey(identity);
    return;
  }
  if (keys.stale === 0) return;
  const last = (await (await db()).get('meta', RESEALED_KEY)) as { account: string; version: number; left: number } | undefined;
  // What is left is what this browser could not open either (damaged on the server): not tried at every sync.
  if (last && last.account === identity.account && last.version === keys.version && last.left >= keys.stale) return;
  const ring = await ringWith(identity, await loadKeyring(identity.account), keys.version, new Set());
  if (ring.current.version !== keys.version) return; // not handed the new key: another browser finishes it
  await resealAll(identity, ring);
}

/** Re-seals every blob on the server under the ring's current key; returns how many it could not open. */
async function resealAll(identity: Identity, ring: Keyring): Promise<number> {
  let left = 0;
  for (let after = 0; ; ) {
    const page = await request<{ blobs: BlobChange[]; cursor: number }>(identity.server, `/v1/blobs?after=${after}`, { token: identity.token });
    for (const blob of page.blobs) if (!(await resealOne(identity, ring, blob))) left++;
    if (page.blobs.length === 0 || page.cursor <= after) break;
    after = page.cursor;
  }
  await (await db()).put('meta', { account: identity.account, version: ring.current.version, left }, RESEALED_KEY);
  return left;
}

/**
 * Re-seals one blob, building on its seq: when another browser wrote it meanwhile (a write racing the
 * rotation), that newer blob is the one re-sealed, so the write is kept. False when it cannot be opened
 * here either: left as it is, it shows "could not be read" everywhere.
 */
async function resealOne(identity: Identity, ring: Keyring, blob: BlobChange): Promise<boolean> {
  let current: BlobChange | null = blob;
  for (let attempt = 0; current?.sealed && (sealedVersion(current.sealed) ?? 0) < ring.current.version; attempt++) {
    let sealed: string;
    try {
      sealed = await reseal(ring, current.tracker, current.sealed);
    } catch (error) {
      if (!(error instanceof UnreadableError)) throw error;
      return false;
    }
    try {
      const { seq } = await putBlob(identity, current.tracker, sealed, current.seq);
      await movedSeq(current.tracker, current.seq, seq);
      return true;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'blob_changed' || attempt >= 4) throw error;
      current = await getBlob(identity, current.tracker);
    }
  }
  return true;
}

// ---------------------------------------------------------------- writing

async function pending(): Promise<string[]> {
  const value = (await browser.storage.local.get(PENDING_KEY))[PENDING_KEY];
  return Array.isArray(value) ? (value as string[]) : [];
}

/**
 * Changes the list of trackers whose blob is still to be sent. Changes run one after the other: a save
 * that adds a tracker while a push removes another must not undo it (both read, then write, the list).
 */
let pendingChain: Promise<unknown> = Promise.resolve();
function updatePending(change: (list: string[]) => string[]): Promise<void> {
  const next = pendingChain.then(async () => {
    await browser.storage.local.set({ [PENDING_KEY]: [...new Set(change(await pending()))] });
  });
  pendingChain = next.catch(() => {});
  return next;
}

/**
 * After a local save of an email: its blob goes to the server now, or at the next sync if it cannot.
 * With `reminder` (null: dropped) the email's reminder changes too; without it the reminder stays.
 */
export async function queueBlob(tracker: string, reminder?: SyncedReminder | null): Promise<void> {
  const database = await db();
  const record = await database.get('emails', tracker);
  if (!record) return;
  const previous = ((await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined) ?? null;
  await database.put('meta', docOf(record, previous, Date.now(), reminder), `${DOC_PREFIX}${tracker}`);
  await updatePending((list) => [...list, tracker]);
  await pushPendingBlobs().catch((e) => console.warn('[openping] sealed blob not sent yet', e));
}

/** After a local delete of an email: every browser of the account deletes it too. */
export async function queueBlobDelete(tracker: string): Promise<void> {
  await (await db()).delete('meta', `${DOC_PREFIX}${tracker}`);
  await updatePending((list) => [...list, tracker]);
  await pushPendingBlobs().catch((e) => console.warn('[openping] sealed delete not sent yet', e));
}

/**
 * Sends what is pending, oldest first; stops at the first failure that may pass (kept for the next sync).
 * Asked while a push runs, it pushes once more after it (lib/serial.ts): the running push read the list
 * before the caller's tracker was on it, so three emails saved in a row each reach the server now, not
 * at the next sync.
 */
export const pushPendingBlobs: () => Promise<void> = serial(pushOnce);

async function pushOnce(): Promise<void> {
  const identity = await loadIdentity();
  if (!identity) return;
  const database = await db();
  const lacking = new Set<number>();
  for (const tracker of await pending()) {
    const doc = (await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined;
    try {
      if (doc) {
        if ((await putDoc(identity, tracker, lacking)) === 'no-key') continue; // kept for when this browser is paired again
      } else await deleteBlob(identity, tracker);
    } catch (error) {
      if (!(error instanceof ApiError) || error.retryable) throw error;
      console.warn('[openping] sealed blob refused by the server', tracker, error.message);
    }
    // Saved again while it was being sent (or merged with another browser's write): it stays pending, and
    // the push after this one (or the next sync) sends the doc as it is now.
    const now = (await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined;
    if (doc && now && JSON.stringify(now) !== JSON.stringify(doc)) continue;
    await updatePending((list) => list.filter((x) => x !== tracker));
  }
}

/**
 * Puts this browser's doc of `tracker`, building on the server's blob it last merged (its seq). A blob
 * another browser wrote since (409 blob_changed) is read and merged first — last writer wins per field —
 * and a blob refused as sealed under an old key (409 stale_key: a rotation happened) is sealed again
 * under the account's current key, fetched once. 'no-key': this browser was not handed the current key
 * (it must be paired again); the write stays pending, nothing is lost.
 */
async function putDoc(identity: Identity, tracker: string, lacking: Set<number>): Promise<'ok' | 'no-key'> {
  const database = await db();
  for (let attempt = 0; ; attempt++) {
    const doc = (await database.get('meta', `${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined;
    if (!doc) return 'ok'; // deleted here meanwhile: its delete is pending too
    const ring = await loadKeyring(identity.account);
    const base = await knownSeq(tracker);
    try {
      const { seq } = await putBlob(identity, tracker, await seal(ring, tracker, JSON.stringify(doc)), base);
      await noteSeq(tracker, seq);
      return 'ok';
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409 || attempt >= 4) throw error;
      if (error.code === 'stale_key') {
        const { version } = await getKeyState(identity);
        if (!(await ringWith(identity, ring, version, lacking)).all.has(version)) return 'no-key';
      } else if (error.code === 'blob_changed') {
        const current = await getBlob(identity, tracker);
        // Deleted on another browser: deleted everywhere wins, the feed brings it here.
        if (!current || current.sealed === null) return 'ok';
        await mergeChange(identity, ring, { tracker, sealed: current.sealed, seq: current.seq }, lacking);
      } else throw error;
    }
  }
}

async function knownSeq(tracker: string): Promise<number> {
  const value = await (await db()).get('meta', `${SEQ_PREFIX}${tracker}`);
  return typeof value === 'number' ? value : 0;
}

/** Notes the seq of a blob merged or written here; never moves back (a feed page read before a put of ours). */
async function noteSeq(tracker: string, seq: number): Promise<void> {
  if (seq > (await knownSeq(tracker))) await (await db()).put('meta', seq, `${SEQ_PREFIX}${tracker}`);
}

/** After a re-seal (same contents, new seq): a browser that had merged the old blob has merged the new one. */
async function movedSeq(tracker: string, from: number, to: number): Promise<void> {
  if ((await knownSeq(tracker)) === from) await noteSeq(tracker, to);
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
export async function applyBlobChanges(
  blobs: readonly BlobChange[] | undefined,
  cursor: string | undefined,
  forget: (tracker: string) => Promise<void>,
  /** Called after an email's reminder was set, snoozed (a new one) or dropped (null) on another browser. */
  onReminder: (tracker: string, reminder: SyncedReminder | null) => Promise<void> = reminderHandler,
): Promise<number> {
  if (!blobs || cursor === undefined) return 0;
  const identity = await loadIdentity();
  if (!identity) return 0;
  let ring = await loadKeyring(identity.account);
  await ensureDeviceKey(identity).catch((e) => console.warn('[openping] device key not registered yet', e));
  const database = await db();
  const lacking = new Set<number>();
  let applied = 0;
  for (const change of blobs) {
    if (typeof change?.tracker !== 'string') continue;
    const { tracker } = change;
    if (change.sealed === null) {
      await forget(tracker);
      await database.delete('meta', `${DOC_PREFIX}${tracker}`);
      await noteSeq(tracker, change.seq);
      applied++;
      continue;
    }
    if ((await database.get('meta', `${TOMBSTONE_PREFIX}${tracker}`)) !== undefined) continue;
    ring = await mergeChange(identity, ring, { tracker, sealed: change.sealed, seq: change.seq }, lacking, onReminder);
    applied++;
  }
  await database.put('meta', cursor, BLOB_CURSOR_KEY);
  if (applied > 0) await touchData();
  return applied;
}

/**
 * Merges one blob of another browser into this browser's doc and email record; returns the keyring, with
 * a rotated key added when the blob needed one this browser had not fetched yet.
 */
async function mergeChange(
  identity: Identity,
  ring: Keyring,
  change: { tracker: string; sealed: string; seq: number },
  lacking: Set<number>,
  /** Called after the email's reminder was set, snoozed or dropped (null) by the other browser's write. */
  onReminder: (tracker: string, reminder: SyncedReminder | null) => Promise<void> = reminderHandler,
): Promise<Keyring> {
  const { tracker } = change;
  let incoming: SealedDoc | null = null;
  let reminderChanged: { value: SyncedReminder | null } | null = null;
  try {
    // A version this browser lacks: a rotation happened; its wrap is fetched once and kept.
    ring = await ringWith(identity, ring, sealedVersion(change.sealed), lacking);
    incoming = parseDoc(await openSealed(ring, tracker, change.sealed));
  } catch (error) {
    if (!(error instanceof UnreadableError)) throw error;
  }
  const database = await db();
  const tx = database.transaction(['emails', 'meta'], 'readwrite');
  const existing = await tx.objectStore('emails').get(tracker);
  if (!incoming) {
    const unreadable = t('devices.unreadable');
    await tx.objectStore('emails').put({ ...(existing ?? newEmailRecord(tracker)), subject: unreadable });
  } else {
    const local = ((await tx.objectStore('meta').get(`${DOC_PREFIX}${tracker}`)) as SealedDoc | undefined) ?? null;
    const merged = local ? mergeDocs(local, incoming) : incoming;
    await tx.objectStore('meta').put(merged, `${DOC_PREFIX}${tracker}`);
    const reminder = merged.fields.reminder;
    if (reminder && JSON.stringify(reminder) !== JSON.stringify(local?.fields.reminder)) reminderChanged = { value: reminder.value };
    const record = { ...(existing ?? newEmailRecord(tracker)) };
    for (const name of RECORD_FIELDS) {
      const field = merged.fields[name];
      if (field) (record as Record<string, unknown>)[name] = field.value;
    }
    if (!existing && record.sentAt !== null) record.sortAt = record.sentAt;
    await tx.objectStore('emails').put(record);
  }
  await tx.done;
  if (typeof change.seq === 'number') await noteSeq(tracker, change.seq);
  if (reminderChanged) await onReminder(tracker, reminderChanged.value);
  return ring;
}

/**
 * What applies a reminder that arrived in another browser's write (lib/reminders.ts, set by lib/sync.ts:
 * reminders imports this module, so it cannot be imported here). Used when a write of ours meets theirs.
 */
let reminderHandler: (tracker: string, reminder: SyncedReminder | null) => Promise<void> = async () => {};

export function handleSyncedReminders(handler: (tracker: string, reminder: SyncedReminder | null) => Promise<void>): void {
  reminderHandler = handler;
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

/** `base`: the seq of the blob this write builds on (0: none); the server refuses the put if the blob moved on. */
function putBlob(creds: Credentials, tracker: string, sealed: string, base: number): Promise<{ tracker: string; seq: number }> {
  return request(creds.server, `/v1/blobs/${encodeURIComponent(tracker)}`, { method: 'PUT', token: creds.token, body: { sealed, base } });
}

/** The tracker's blob as the server holds it now; null when there is none (never written, or deleted). */
async function getBlob(creds: Credentials, tracker: string): Promise<BlobChange | null> {
  try {
    return await request<BlobChange>(creds.server, `/v1/blobs/${encodeURIComponent(tracker)}`, { token: creds.token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function deleteBlob(creds: Credentials, tracker: string): Promise<unknown> {
  return request(creds.server, `/v1/blobs/${encodeURIComponent(tracker)}`, { method: 'DELETE', token: creds.token });
}

export type { Identity };

/**
 * Key rotation cut short, and writes racing it (issue 21), with the real client modules against the REAL
 * tracking server (in-process, temp SQLite; backend/server.ts). The browser under test is this module's
 * state (fake browser.storage, fake IndexedDB); the account's other browsers are played over HTTP with the
 * same crypto (lib/seal.ts, lib/keywrap.ts), or by switching this module's state over to them.
 *
 * A browser closed mid-rotation is simulated by its network failing after k blob writes: the requests
 * before it reached the server, the rest never leave.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { closeDb, db, newEmailRecord } from '../../lib/db';
import { exportPublicKey, generateDeviceKeyPair, unwrapForDevice, wrapForDevice } from '../../lib/keywrap';
import { deriveKeys, newSecret, wrapKeyring } from '../../lib/pairing-protocol';
import { revokeDevice } from '../../lib/pairing';
import { generateAccountKey, keyring, openSealed, seal, sealedVersion, type AccountKey, type Keyring } from '../../lib/seal';
import { ensureDeviceKey, loadKeyring, markShared, parseDoc, queueBlob, saveKeyring, type SealedDoc } from '../../lib/sealed-sync';
import { loadIdentity, saveIdentity, saveSettings, type Identity } from '../../lib/settings';
import { ensureAccount, stopLivePolling, syncOnce } from '../../lib/sync';
import { startTestServer, type Running } from '../server/helpers';
import { installFakeDnr } from './dnr-fake';

let s: Running;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000 });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

beforeEach(async () => {
  await freshBrowser();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await stopLivePolling();
});

/** A browser profile with nothing in it yet. */
async function freshBrowser(): Promise<void> {
  fakeBrowser.reset();
  installFakeDnr();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  await saveSettings({ server: s.url });
}

interface Other {
  identity: Identity;
  device: string;
  pair: CryptoKeyPair;
  auth: Record<string, string>;
}

async function call<T>(auth: Record<string, string>, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${s.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...auth, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Another browser joins the account of `identity` (the pairing protocol over HTTP) and registers its device key. */
async function join(identity: Identity, name: string): Promise<Other> {
  const keys = await deriveKeys(newSecret(), 1000);
  const auth = { authorization: `Bearer ${identity.token}` };
  const made = await call<{ pairing: string }>(auth, '/v1/pairings', { method: 'POST', body: await wrapKeyring(await loadKeyring(identity.account), keys) });
  const joined = await call<{ token: string; device: string; pixelBase: string }>({}, `/v1/pairings/${made.body.pairing}/join`, { method: 'POST', body: { proof: keys.proof, name } });
  expect(joined.status).toBe(200);
  const pair = await generateDeviceKeyPair();
  const other = { authorization: `Bearer ${joined.body.token}` };
  expect((await call(other, '/v1/device/key', { method: 'PUT', body: { publicKey: await exportPublicKey(pair.publicKey) } })).status).toBe(204);
  return { identity: { ...identity, token: joined.body.token, pixelBase: joined.body.pixelBase }, device: joined.body.device, pair, auth: other };
}

/** This browser: an account, its device key registered, shared with `others` more browsers, `count` emails written. */
async function accountWithEmails(count: number): Promise<{ identity: Identity; subjects: Map<string, string> }> {
  const identity = (await ensureAccount())!;
  await ensureDeviceKey(identity);
  await markShared();
  const subjects = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const tracker = `rotTracker${String(i).padStart(3, '0')}${Math.random().toString(36).slice(2, 11)}`.slice(0, 22);
    const subject = `Quarterly figures ${i} ${tracker}`;
    subjects.set(tracker, subject);
    await (await db()).put('emails', newEmailRecord(tracker, { subject, sentAt: Date.now() - i * 1000, recipients: [{ name: null, address: `r${i}@example.org` }] }));
    await queueBlob(tracker);
  }
  return { identity, subjects };
}

interface ServerBlob {
  tracker: string;
  sealed: string | null;
  seq: number;
}

async function serverBlobs(auth: Record<string, string>): Promise<ServerBlob[]> {
  return (await call<{ blobs: ServerBlob[] }>(auth, '/v1/blobs?after=0')).body.blobs;
}

async function keyState(auth: Record<string, string>) {
  return (await call<{ version: number; rekey: boolean; stale: number }>(auth, '/v1/keys')).body;
}

/** The network of this browser fails for every request after `k` blob writes (PUT /v1/blobs/…) or on `path`: closed mid-way. */
function cutOff(options: { afterBlobPuts?: number; path?: string }): void {
  const real = globalThis.fetch;
  let puts = 0;
  let closed = false;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    if (method === 'PUT' && url.includes('/v1/blobs/') && options.afterBlobPuts !== undefined && ++puts > options.afterBlobPuts) closed = true;
    if (options.path && url.includes(options.path) && method === 'POST') closed = true;
    if (closed) throw new TypeError('Failed to fetch');
    return real(input, init);
  });
}

/** The other browser's key of `version`, unwrapped from its own wrap. */
async function keyOf(other: Other, version: number): Promise<AccountKey> {
  const wrap = await call<{ wrapped: string }>(other.auth, `/v1/keys/${version}`);
  expect(wrap.status).toBe(200);
  return unwrapForDevice(wrap.body.wrapped, other.device, version, other.pair.privateKey);
}

async function expectAllReadable(blobs: ServerBlob[], ring: Keyring, subjects: Map<string, string>, version: number): Promise<void> {
  expect(blobs.map((b) => b.tracker).sort()).toEqual([...subjects.keys()].sort());
  for (const b of blobs) {
    expect(sealedVersion(b.sealed!)).toBe(version);
    expect(parseDoc(await openSealed(ring, b.tracker, b.sealed!)).fields.subject?.value).toBe(subjects.get(b.tracker));
  }
}

/** Switches this module's state over to the other browser, as its own profile holds it (keyring of version 1). */
async function becomeBrowser(other: Other, ringV1: Keyring): Promise<void> {
  await freshBrowser();
  await saveIdentity(other.identity);
  await saveKeyring(other.identity.account, ringV1);
  await markShared();
  await (await db()).put('meta', { account: other.identity.account, privateKey: other.pair.privateKey, publicKey: await exportPublicKey(other.pair.publicKey), registered: true }, 'deviceKey');
}

describe('a key rotation cut short is finished later, nothing lost', () => {
  it('revoking C, the browser closes after re-sealing 2 of 6 blobs: at its next start the rest are re-sealed, every blob opens under version 2 with its subject', async () => {
    const { identity, subjects } = await accountWithEmails(6);
    const b = await join(identity, 'Browser B');
    const c = await join(identity, 'Browser C');
    const auth = { authorization: `Bearer ${identity.token}` };
    expect((await serverBlobs(auth)).map((x) => sealedVersion(x.sealed!))).toEqual([1, 1, 1, 1, 1, 1]);

    cutOff({ afterBlobPuts: 2 });
    await expect(revokeDevice(identity, c.device)).rejects.toThrow();
    vi.restoreAllMocks();
    const cut = await serverBlobs(auth);
    expect(cut.map((x) => sealedVersion(x.sealed!)).sort()).toEqual([1, 1, 1, 1, 2, 2]);
    expect(await keyState(auth)).toEqual({ version: 2, rekey: false, stale: 4 });

    // The browser starts again: its first sync finishes the re-seal.
    closeDb();
    expect((await syncOnce()).ok).toBe(true);
    expect(await keyState(auth)).toEqual({ version: 2, rekey: false, stale: 0 });
    await expectAllReadable(await serverBlobs(auth), await loadKeyring(identity.account), subjects, 2);
    // B reads them with its own wrap of version 2; C, revoked, is refused its wrap.
    await expectAllReadable(await serverBlobs(b.auth), keyring([await keyOf(b, 2)]), subjects, 2);
    expect((await call(c.auth, '/v1/keys/2')).status).toBe(401);
    for (const [tracker, subject] of subjects) expect((await (await db()).get('emails', tracker))?.subject).toBe(subject);
  });

  it('the other browser finishes it: B, holding version 2, re-seals what A left and shows every email with its subject', async () => {
    const { identity, subjects } = await accountWithEmails(5);
    const ringV1 = await loadKeyring(identity.account);
    const b = await join(identity, 'Browser B');
    const c = await join(identity, 'Browser C');
    cutOff({ afterBlobPuts: 1 });
    await expect(revokeDevice(identity, c.device)).rejects.toThrow();
    vi.restoreAllMocks();
    expect(await keyState(b.auth)).toEqual({ version: 2, rekey: false, stale: 4 });

    await becomeBrowser(b, ringV1);
    expect((await syncOnce()).ok).toBe(true);
    expect(await keyState(b.auth)).toEqual({ version: 2, rekey: false, stale: 0 });
    await expectAllReadable(await serverBlobs(b.auth), keyring([await keyOf(b, 2)]), subjects, 2);
    for (const [tracker, subject] of subjects) expect((await (await db()).get('emails', tracker))?.subject).toBe(subject);
  });

  it('closed after the revoke, before the new key was handed out: the account owes a rotation, and the next sync makes it', async () => {
    const { identity, subjects } = await accountWithEmails(3);
    const b = await join(identity, 'Browser B');
    const c = await join(identity, 'Browser C');
    const auth = { authorization: `Bearer ${identity.token}` };
    cutOff({ path: '/v1/keys' });
    await expect(revokeDevice(identity, c.device)).rejects.toThrow();
    vi.restoreAllMocks();
    expect(await keyState(auth)).toEqual({ version: 1, rekey: true, stale: 0 });

    closeDb();
    expect((await syncOnce()).ok).toBe(true);
    expect(await keyState(auth)).toEqual({ version: 2, rekey: false, stale: 0 });
    await expectAllReadable(await serverBlobs(b.auth), keyring([await keyOf(b, 2)]), subjects, 2);
  });
});

describe('writes racing a rotation or another browser', () => {
  it('a write sealed under the old key after another browser rotated is refused, then sealed under the new key and sent again', async () => {
    const { identity } = await accountWithEmails(0);
    const b = await join(identity, 'Browser B');
    // B rotates: version 2, wrapped for A and B.
    const { devices } = (await call<{ devices: { id: string; publicKey: string }[] }>(b.auth, '/v1/devices')).body;
    const v2 = await generateAccountKey(2);
    const wraps = await Promise.all(devices.map(async (d) => ({ device: d.id, wrapped: await wrapForDevice(v2, d.id, d.publicKey) })));
    expect((await call(b.auth, '/v1/keys', { method: 'POST', body: { version: 2, wraps } })).status).toBe(201);

    // A still holds version 1 only, and writes an email.
    expect((await loadKeyring(identity.account)).current.version).toBe(1);
    const tracker = 'raceTrackerStaleKey001';
    await (await db()).put('emails', newEmailRecord(tracker, { subject: 'Written during the rotation' }));
    await queueBlob(tracker);

    const blob = (await call<ServerBlob>(b.auth, `/v1/blobs/${tracker}`)).body;
    expect(sealedVersion(blob.sealed!)).toBe(2);
    expect(parseDoc(await openSealed(keyring([v2]), tracker, blob.sealed!)).fields.subject?.value).toBe('Written during the rotation');
    expect((await loadKeyring(identity.account)).current.version).toBe(2);
    expect(await fakeBrowser.storage.local.get('sealedPending')).toEqual({ sealedPending: [] });
  });

  it("B's write landing while A re-seals that very blob is kept: A's re-seal builds on the seq it read and does not overwrite it", async () => {
    const { identity, subjects } = await accountWithEmails(2);
    const b = await join(identity, 'Browser B');
    const c = await join(identity, 'Browser C');
    const [raced] = [...subjects.keys()];
    const real = globalThis.fetch;
    let bWrote = false;
    // Just before A's first re-seal put of `raced` leaves, B (holding version 2 by then) writes a new subject to it.
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!bWrote && init?.method === 'PUT' && url.endsWith(`/v1/blobs/${raced}`)) {
        bWrote = true;
        const v2 = await keyOf(b, 2);
        const current = (await call<ServerBlob>(b.auth, `/v1/blobs/${raced}`)).body;
        const doc = parseDoc(await openSealed(await loadKeyring(identity.account), raced!, current.sealed!));
        doc.fields.subject = { value: 'Renamed on B during the rotation', t: Date.now() };
        const put = await call(b.auth, `/v1/blobs/${raced}`, { method: 'PUT', body: { sealed: await seal(keyring([v2]), raced!, JSON.stringify(doc)), base: current.seq } });
        expect(put.status).toBe(200);
      }
      return real(input, init);
    });
    await revokeDevice(identity, c.device);
    vi.restoreAllMocks();
    expect(bWrote).toBe(true);
    subjects.set(raced!, 'Renamed on B during the rotation');
    await expectAllReadable(await serverBlobs(b.auth), keyring([await keyOf(b, 2)]), subjects, 2);
  });

  it("two browsers' writes to one email merge: A's new subject and B's recipients both end up on the server and on A", async () => {
    const { identity } = await accountWithEmails(0);
    const b = await join(identity, 'Browser B');
    const ring = await loadKeyring(identity.account);
    const tracker = 'raceTrackerTwoWriters1';
    await (await db()).put('emails', newEmailRecord(tracker, { subject: 'First subject' }));
    await queueBlob(tracker);

    // B reads A's blob and changes the recipients (B's own write, building on A's).
    const seen = (await call<ServerBlob>(b.auth, `/v1/blobs/${tracker}`)).body;
    const docB = parseDoc(await openSealed(ring, tracker, seen.sealed!));
    docB.fields.recipients = { value: [{ name: null, address: 'added.on.b@example.org' }], t: Date.now() };
    const put = await call(b.auth, `/v1/blobs/${tracker}`, { method: 'PUT', body: { sealed: await seal(ring, tracker, JSON.stringify(docB)), base: seen.seq } });
    expect(put.status).toBe(200);

    // A, before its next sync has brought B's change, edits the subject.
    await new Promise((r) => setTimeout(r, 2));
    const record = (await (await db()).get('emails', tracker))!;
    await (await db()).put('emails', { ...record, subject: 'Second subject' });
    await queueBlob(tracker);

    const final = (await call<ServerBlob>(b.auth, `/v1/blobs/${tracker}`)).body;
    const doc: SealedDoc = parseDoc(await openSealed(ring, tracker, final.sealed!));
    expect(doc.fields.subject?.value).toBe('Second subject');
    expect(doc.fields.recipients?.value).toEqual([{ name: null, address: 'added.on.b@example.org' }]);
    expect(await (await db()).get('emails', tracker)).toMatchObject({ subject: 'Second subject', recipients: [{ name: null, address: 'added.on.b@example.org' }] });
  });

  it('a browser revoked by another is refused its write (401) and logged out cleanly at its next sync', async () => {
    const { identity } = await accountWithEmails(1);
    const b = await join(identity, 'Browser B');
    const own = (await call<{ devices: { id: string; current: boolean }[] }>({ authorization: `Bearer ${identity.token}` }, '/v1/devices')).body.devices.find((d) => d.current)!;
    expect((await call(b.auth, `/v1/devices/${own.id}`, { method: 'DELETE' })).status).toBe(204);
    const tracker = 'revokedTrackerWrite001';
    await (await db()).put('emails', newEmailRecord(tracker, { subject: 'Written after the revoke' }));
    await queueBlob(tracker);
    expect((await call(b.auth, `/v1/blobs/${tracker}`)).status).toBe(404);

    await syncOnce();
    expect(await loadIdentity()).toBeNull();
    expect(await (await db()).count('emails')).toBe(0);
  });

  it('three emails saved at once all reach the server at once, none left for the next sync (a save during a push is pushed after it)', async () => {
    const { identity } = await accountWithEmails(0);
    const trackers = ['burstTracker0aaaaaaaaa', 'burstTracker1aaaaaaaaa', 'burstTracker2aaaaaaaaa'];
    for (const [i, tracker] of trackers.entries()) {
      await (await db()).put('emails', newEmailRecord(tracker, { subject: `Burst ${i}`, sentAt: Date.now(), recipients: [] }));
    }
    // As the background does on three quick sends: no save waits for another.
    await Promise.all(trackers.map((tracker) => queueBlob(tracker)));
    const auth = { authorization: `Bearer ${identity.token}` };
    expect((await serverBlobs(auth)).filter((b) => b.sealed !== null).map((b) => b.tracker).sort()).toEqual(trackers);
    expect(((await fakeBrowser.storage.local.get('sealedPending')).sealedPending ?? []) as string[]).toEqual([]);
  });
});

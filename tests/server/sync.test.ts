/**
 * One account on several browsers (issue 21), over HTTP against a real server, on both stores: device
 * tokens, pairing, sealed blobs and their feed, and that the database never holds what was sealed.
 * The browsers' side is played by the real client modules (lib/seal.ts, lib/pairing-protocol.ts).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from '../../backend/store/sqlite-driver.ts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAIRING_MAX_WRONG, PAIRING_TTL_MS } from '../../backend/pairing.ts';
import { JOINS_PER_NETWORK_HOUR } from '../../backend/sync-routes.ts';
import type { Store } from '../../backend/store/types.ts';
import type { PutBlobOutcome } from '../../backend/store/sync-types.ts';
import { migratePostgres, openPostgresStore } from '../../backend/store/postgres.ts';
import { migrateSqlite, openSqliteStore } from '../../backend/store/sqlite.ts';
import { deriveKeys, newSecret, unwrapKeyring, wrapKeyring, type PairingKeys } from '../../lib/pairing-protocol';
import { exportPublicKey, generateDeviceKeyPair, unwrapForDevice, wrapForDevice } from '../../lib/keywrap';
import { exportKey, fromBase64url, generateAccountKey, keyring, openSealed, reseal, seal, sealedVersion, toBase64url, UnreadableError, type Keyring } from '../../lib/seal';
import { json, newAccount, startTestServer, trackerId, type Account, type Running } from './helpers.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';

/** A token hash as the server makes them (SHA-256, hex): its first 22 characters name the device. */
const hexHash = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');

function seqOf(outcome: PutBlobOutcome): number {
  if (!outcome.ok) throw new Error(`put refused: ${outcome.why}`);
  return outcome.seq;
}

/** Cheap derivations for the HTTP tests (the server never sees the count); the unit tests use the real one. */
const FAST = 1000;
const MARK_SUBJECT = 'Zebra-Marker-Subject-7f3a9c';
const MARK_RECIPIENT = 'marker.recipient.4c1d@example.org';

interface Paired {
  a: Account;
  b: Account & { device: string };
  ring: Keyring;
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function startPairing(url: string, a: Account, ring: Keyring): Promise<{ pairing: string; keys: PairingKeys }> {
  const keys = await deriveKeys(newSecret(), FAST);
  const res = await post(url, '/v1/pairings', await wrapKeyring(ring, keys), a.auth);
  expect(res.status).toBe(201);
  const body = await json<{ pairing: string; expiresAt: number }>(res);
  expect(body.expiresAt - Date.now()).toBeGreaterThan(PAIRING_TTL_MS - 60_000);
  return { pairing: body.pairing, keys };
}

async function pair(url: string): Promise<Paired> {
  const a = await newAccount(url);
  const ring = keyring([await generateAccountKey(1)]);
  const { pairing, keys } = await startPairing(url, a, ring);
  const res = await post(url, `/v1/pairings/${pairing}/join`, { proof: keys.proof, name: 'Browser B' });
  expect(res.status).toBe(200);
  const body = await json<{ account: string; token: string; pixelBase: string; device: string; wrapped: string }>(res);
  const ringB = await unwrapKeyring(body.wrapped, keys);
  expect((await exportKey(ringB.current)).raw).toBe((await exportKey(ring.current)).raw);
  return { a, b: { account: body.account, token: body.token, pixelBase: body.pixelBase, device: body.device, auth: { authorization: `Bearer ${body.token}` } }, ring: ringB };
}

interface EventsAnswer {
  events: unknown[];
  cursor: string;
  blobs: { tracker: string; sealed: string | null; seq: number }[];
  blobCursor: string;
}

async function events(url: string, acc: Account, query: string): Promise<Response> {
  return fetch(`${url}/v1/events?${query}`, { headers: acc.auth });
}

function sqliteFiles(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)));
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`sync over HTTP: ${kind}`, () => {
    let server: Running;
    let pgdb: TestDatabase | null = null;
    beforeAll(async () => {
      if (kind === 'postgres') pgdb = await createTestDatabase('sync');
      server = await startTestServer(pgdb ? { db: pgdb.url } : {});
    });
    afterAll(async () => {
      await server?.stop();
      await pgdb?.drop();
    });

    it('pairs: B gets its own token for A\'s account and the keyring; both are listed; revoking B gets B 401', async () => {
      const { a, b } = await pair(server.url);
      expect(b.account).toBe(a.account);
      expect(b.token).not.toBe(a.token);
      const listed = await json<{ devices: { id: string; name: string | null; current: boolean }[] }>(await fetch(`${server.url}/v1/devices`, { headers: a.auth }));
      expect(listed.devices).toHaveLength(2);
      expect(listed.devices.find((d) => d.id === b.device)).toMatchObject({ name: 'Browser B', current: false });
      expect(listed.devices.find((d) => d.id !== b.device)).toMatchObject({ name: null, current: true });

      expect((await events(server.url, b, 'wait=0')).status).toBe(200);
      expect((await fetch(`${server.url}/v1/devices/${b.device}`, { method: 'DELETE', headers: a.auth })).status).toBe(204);
      const refused = await events(server.url, b, 'wait=0');
      expect(refused.status).toBe(401);
      expect((await events(server.url, a, 'wait=0')).status).toBe(200);
      expect((await fetch(`${server.url}/v1/devices/${b.device}`, { method: 'DELETE', headers: a.auth })).status).toBe(404);
    });

    it('revoking C rotates the key: the wraps reach A and B only, blobs are re-sealed at n+1, the database never holds the key', async () => {
      // A pairs B and C; each registers its public key.
      const { a, b, ring } = await pair(server.url);
      const { pairing, keys } = await startPairing(server.url, a, ring);
      const joined = await json<{ token: string; device: string }>(await post(server.url, `/v1/pairings/${pairing}/join`, { proof: keys.proof, name: 'Browser C' }));
      const c = { auth: { authorization: `Bearer ${joined.token}` }, device: joined.device };
      const pairs = { a: await generateDeviceKeyPair(), b: await generateDeviceKeyPair(), c: await generateDeviceKeyPair() };
      const putKey = async (auth: Record<string, string>, pair: CryptoKeyPair) =>
        fetch(`${server.url}/v1/device/key`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ publicKey: await exportPublicKey(pair.publicKey) }) });
      expect((await putKey(a.auth, pairs.a)).status).toBe(204);
      expect((await putKey(b.auth, pairs.b)).status).toBe(204);
      expect((await putKey(c.auth, pairs.c)).status).toBe(204);
      // Once only: a stolen token cannot swap in its own key for the next rotation.
      expect((await putKey(b.auth, pairs.c)).status).toBe(409);
      expect((await putKey(b.auth, pairs.b)).status).toBe(409);

      const trackers = [trackerId(), trackerId()];
      for (const t of trackers) {
        const res = await fetch(`${server.url}/v1/blobs/${t}`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ sealed: await seal(ring, t, `${MARK_SUBJECT} ${t}`) }) });
        expect(res.status).toBe(200);
      }

      // A revokes C, then makes version 2 and wraps it for the devices that remain.
      expect((await fetch(`${server.url}/v1/devices/${c.device}`, { method: 'DELETE', headers: a.auth })).status).toBe(204);
      const listed = await json<{ devices: { id: string; publicKey: string | null; current: boolean }[] }>(await fetch(`${server.url}/v1/devices`, { headers: a.auth }));
      expect(listed.devices.map((d) => d.id)).not.toContain(c.device);
      expect(listed.devices.every((d) => d.publicKey !== null)).toBe(true);
      const v2 = await generateAccountKey(2);
      const wraps = await Promise.all(listed.devices.map(async (d) => ({ device: d.id, wrapped: await wrapForDevice(v2, d.id, d.publicKey!) })));
      const postWraps = (body: unknown) => fetch(`${server.url}/v1/keys`, { method: 'POST', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // A wrap for the revoked device is refused, and nothing of that rotation is stored.
      const forC = { device: c.device, wrapped: await wrapForDevice(v2, c.device, await exportPublicKey(pairs.c.publicKey)) };
      expect((await postWraps({ version: 2, wraps: [...wraps, forC] })).status).toBe(400);
      expect((await fetch(`${server.url}/v1/keys/2`, { headers: b.auth })).status).toBe(404);
      expect((await postWraps({ version: 2, wraps })).status).toBe(201);
      expect((await postWraps({ version: 2, wraps })).status).toBe(409);
      expect((await postWraps({ version: 1, wraps })).status).toBe(400);
      expect((await postWraps({ version: 3, wraps: [{ device: wraps[0]!.device, wrapped: 'x' }] })).status).toBe(400);

      // A re-seals every blob it finds on the server under version 2.
      const rotated = keyring([...ring.all].map(([version, key]) => ({ version, key })).concat(v2));
      const page = await json<{ blobs: { tracker: string; sealed: string | null }[]; cursor: number }>(await fetch(`${server.url}/v1/blobs?after=0`, { headers: a.auth }));
      expect(page.blobs.map((x) => x.tracker).sort()).toEqual([...trackers].sort());
      for (const x of page.blobs) {
        const res = await fetch(`${server.url}/v1/blobs/${x.tracker}`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ sealed: await reseal(rotated, x.tracker, x.sealed!) }) });
        expect(res.status).toBe(200);
      }

      // B meets version-2 blobs in its feed, fetches its wrap, unwraps it, reads them.
      const feed = await json<EventsAnswer>(await events(server.url, b, 'blobsAfter=0'));
      const latest = feed.blobs.filter((x) => trackers.includes(x.tracker));
      expect(latest.map((x) => sealedVersion(x.sealed!))).toEqual([2, 2]);
      await expect(openSealed(ring, latest[0]!.tracker, latest[0]!.sealed!)).rejects.toBeInstanceOf(UnreadableError);
      const mine = await json<{ version: number; device: string; wrapped: string }>(await fetch(`${server.url}/v1/keys/2`, { headers: b.auth }));
      expect(mine.device).toBe(b.device);
      const bKey = await unwrapForDevice(mine.wrapped, mine.device, mine.version, pairs.b.privateKey);
      for (const x of latest) expect(await openSealed(keyring([bKey]), x.tracker, x.sealed!)).toBe(`${MARK_SUBJECT} ${x.tracker}`);
      // C is out: 401 everywhere, and even with B's wrap in hand its private key opens nothing.
      expect((await fetch(`${server.url}/v1/keys/2`, { headers: c.auth })).status).toBe(401);
      await expect(unwrapForDevice(mine.wrapped, mine.device, 2, pairs.c.privateKey)).rejects.toBeInstanceOf(UnreadableError);
      await expect(unwrapForDevice(mine.wrapped, c.device, 2, pairs.c.privateKey)).rejects.toBeInstanceOf(UnreadableError);

      // The server holds wraps and public keys, never the new key.
      const raw = fromBase64url((await exportKey(v2)).raw)!;
      const needles = [Buffer.from(raw), Buffer.from(toBase64url(raw))];
      if (kind === 'sqlite') {
        for (const file of sqliteFiles(server.dir)) for (const needle of needles) expect(file.includes(needle)).toBe(false);
      } else {
        const dump = execFileSync('pg_dump', ['--data-only', '--dbname', pgdb!.url], { maxBuffer: 64 * 1024 * 1024 });
        expect(dump.includes(Buffer.from(mine.wrapped))).toBe(true);
        for (const needle of needles) expect(dump.includes(needle)).toBe(false);
      }
    });

    const putSealed = (acc: { auth: Record<string, string> }, tracker: string, body: { sealed: string; base?: number }) =>
      fetch(`${server.url}/v1/blobs/${tracker}`, { method: 'PUT', headers: { ...acc.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const keyState = async (acc: { auth: Record<string, string> }) => json<{ version: number; rekey: boolean; stale: number }>(await fetch(`${server.url}/v1/keys`, { headers: acc.auth }));

    it('after a rotation a blob sealed under the old key is refused (409 stale_key); GET /v1/keys and the feed tell the version, a rotation owed, and the blobs left to re-seal', async () => {
      const { a, b, ring } = await pair(server.url);
      const pairA = await generateDeviceKeyPair();
      const registered = await fetch(`${server.url}/v1/device/key`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ publicKey: await exportPublicKey(pairA.publicKey) }) });
      expect(registered.status).toBe(204);
      const trackers = [trackerId(), trackerId(), trackerId()];
      for (const t of trackers) expect((await putSealed(a, t, { sealed: await seal(ring, t, `${MARK_SUBJECT} ${t}`) })).status).toBe(200);
      expect(await keyState(a)).toEqual({ version: 1, rekey: false, stale: 0 });

      // Revoking B: the account owes a rotation, and says so until one is handed out.
      expect((await fetch(`${server.url}/v1/devices/${b.device}`, { method: 'DELETE', headers: a.auth })).status).toBe(204);
      expect(await keyState(a)).toEqual({ version: 1, rekey: true, stale: 0 });
      const aDevice = (await json<{ devices: { id: string; current: boolean }[] }>(await fetch(`${server.url}/v1/devices`, { headers: a.auth }))).devices.find((d) => d.current)!.id;
      const v2 = await generateAccountKey(2);
      const postWraps = async (version: number) =>
        fetch(`${server.url}/v1/keys`, {
          method: 'POST',
          headers: { ...a.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ version, wraps: [{ device: aDevice, wrapped: await wrapForDevice({ ...v2, version }, aDevice, await exportPublicKey(pairA.publicKey)) }] }),
        });
      expect((await postWraps(2)).status).toBe(201);
      expect(await keyState(a)).toEqual({ version: 2, rekey: false, stale: 3 });

      // Under version 1 now: refused with its code, for a new tracker and an existing one alike; nothing stored.
      const before = await json<{ sealed: string; seq: number }>(await fetch(`${server.url}/v1/blobs/${trackers[0]}`, { headers: a.auth }));
      for (const t of [trackers[0]!, trackerId()]) {
        const refused = await putSealed(a, t, { sealed: await seal(ring, t, 'written under the old key') });
        expect(refused.status).toBe(409);
        expect((await json<{ error: string }>(refused)).error).toBe('stale_key');
      }
      expect(await json(await fetch(`${server.url}/v1/blobs/${trackers[0]}`, { headers: a.auth }))).toMatchObject({ sealed: before.sealed, seq: before.seq });

      // The re-seal: each blob under version 2 is taken and leaves the stale count; a deletion is never refused.
      const rotated = keyring([{ version: 1, key: ring.current.key }, v2]);
      expect((await putSealed(a, trackers[0]!, { sealed: await reseal(rotated, trackers[0]!, before.sealed) })).status).toBe(200);
      expect((await fetch(`${server.url}/v1/blobs/${trackers[1]}`, { method: 'DELETE', headers: a.auth })).status).toBe(204);
      const feed = await json<EventsAnswer & { keys: unknown }>(await events(server.url, a, 'blobsAfter=0'));
      expect(feed.keys).toEqual({ version: 2, rekey: false, stale: 1 });
      // A rotation to a version not above the current one is refused too (another browser rotated first).
      expect((await postWraps(2)).status).toBe(409);
    });

    it('a put naming the seq it builds on (base) is refused once the blob moved on (409 blob_changed): a browser never overwrites a change it has not merged', async () => {
      const { a, b, ring } = await pair(server.url);
      const t = trackerId();
      const first = await putSealed(a, t, { sealed: await seal(ring, t, 'A wrote the subject'), base: 0 });
      expect(first.status).toBe(200);
      const { seq } = await json<{ seq: number }>(first);
      // B had not seen A's write: its put on "no blob yet" is refused, and A's blob is still there.
      const racing = await putSealed(b, t, { sealed: await seal(ring, t, 'B wrote the recipients'), base: 0 });
      expect(racing.status).toBe(409);
      expect((await json<{ error: string }>(racing)).error).toBe('blob_changed');
      expect(await openSealed(ring, t, (await json<{ sealed: string }>(await fetch(`${server.url}/v1/blobs/${t}`, { headers: b.auth }))).sealed)).toBe('A wrote the subject');
      // After reading (and merging) it, B builds on seq and is taken.
      expect((await putSealed(b, t, { sealed: await seal(ring, t, 'both'), base: seq })).status).toBe(200);
      // Ten writes on one base at once: exactly one is taken.
      const { seq: now } = await json<{ seq: number }>(await fetch(`${server.url}/v1/blobs/${t}`, { headers: a.auth }));
      const statuses = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await putSealed(i % 2 ? a : b, t, { sealed: await seal(ring, t, `racer ${i}`), base: now })).status));
      expect(statuses.filter((x) => x === 200)).toHaveLength(1);
      expect(statuses.filter((x) => x === 409)).toHaveLength(9);
      // Without base (a browser from before): written as before.
      expect((await putSealed(a, t, { sealed: await seal(ring, t, 'old client') })).status).toBe(200);
      expect((await putSealed(a, t, { sealed: await seal(ring, t, 'bad base'), base: -1 })).status).toBe(400);
    });

    it('a pairing works once: the right proof a second time is refused', async () => {
      const a = await newAccount(server.url);
      const { pairing, keys } = await startPairing(server.url, a, keyring([await generateAccountKey()]));
      expect((await post(server.url, `/v1/pairings/${pairing}/join`, { proof: keys.proof })).status).toBe(200);
      const again = await post(server.url, `/v1/pairings/${pairing}/join`, { proof: keys.proof });
      expect(again.status).toBe(404);
      expect(await json(again)).toMatchObject({ error: 'pairing_gone' });
    });

    it(`brute force: ${PAIRING_MAX_WRONG} wrong proofs burn the pairing; then the right one is refused too`, async () => {
      const a = await newAccount(server.url);
      const { pairing, keys } = await startPairing(server.url, a, keyring([await generateAccountKey()]));
      const answers: number[] = [];
      let last: Record<string, unknown> = {};
      for (let i = 0; i < PAIRING_MAX_WRONG; i++) {
        const res = await post(server.url, `/v1/pairings/${pairing}/join`, { proof: toBase64url(crypto.getRandomValues(new Uint8Array(32))) });
        answers.push(res.status);
        last = await json(res);
      }
      expect(answers).toEqual(Array(PAIRING_MAX_WRONG).fill(403));
      expect(String(last.message)).toMatch(/no longer works/);
      expect((await post(server.url, `/v1/pairings/${pairing}/join`, { proof: keys.proof })).status).toBe(404);
      // The account gained no device from any of it.
      const listed = await json<{ devices: unknown[] }>(await fetch(`${server.url}/v1/devices`, { headers: a.auth }));
      expect(listed.devices).toHaveLength(1);
    });

    it('a blob sealed on A arrives on B through the feed, B reads its subject; the database holds no plaintext', async () => {
      const { a, b, ring } = await pair(server.url);
      const tracker = trackerId();
      const start = await json<EventsAnswer>(await events(server.url, b, 'blobsAfter=0'));
      expect(start).toMatchObject({ blobs: [], blobCursor: '0' });

      // B long-polls; A's write wakes it (no clock involved: the answer comes because of the write).
      const waiting = events(server.url, b, `blobsAfter=${start.blobCursor}&wait=25`);
      const plain = JSON.stringify({ subject: MARK_SUBJECT, recipients: [MARK_RECIPIENT] });
      const put = await fetch(`${server.url}/v1/blobs/${tracker}`, {
        method: 'PUT',
        headers: { ...a.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ sealed: await seal(ring, tracker, plain) }),
      });
      expect(put.status).toBe(200);
      const got = await json<EventsAnswer>(await waiting);
      expect(got.blobs).toHaveLength(1);
      expect(got.blobs[0]!.tracker).toBe(tracker);
      expect(JSON.parse(await openSealed(ring, tracker, got.blobs[0]!.sealed!))).toEqual({ subject: MARK_SUBJECT, recipients: [MARK_RECIPIENT] });
      expect(Number(got.blobCursor)).toBeGreaterThan(0);

      // Nothing the store wrote holds the subject, the recipient, or the sealing key.
      const raw = fromBase64url((await exportKey(ring.current)).raw)!;
      const needles = [Buffer.from(MARK_SUBJECT), Buffer.from(MARK_RECIPIENT), Buffer.from(raw), Buffer.from(toBase64url(raw))];
      if (kind === 'sqlite') {
        // Checkpoint-independent: the -wal and the hit log are read as they are, next to the database file.
        const files = sqliteFiles(server.dir);
        expect(files.length).toBeGreaterThanOrEqual(2);
        expect(files.some((f) => f.includes(Buffer.from(tracker)))).toBe(true); // the search does find what is there
        for (const file of files) for (const needle of needles) expect(file.includes(needle)).toBe(false);
      } else {
        const dump = execFileSync('pg_dump', ['--data-only', '--dbname', pgdb!.url], { maxBuffer: 64 * 1024 * 1024 });
        expect(dump.includes(Buffer.from(tracker))).toBe(true);
        for (const needle of needles) expect(dump.includes(needle)).toBe(false);
      }
    });

    it('a blob changed on the server is detected: B says "could not be read", never shows altered text', async () => {
      const { a, b, ring } = await pair(server.url);
      const tracker = trackerId();
      const sealed = await seal(ring, tracker, JSON.stringify({ subject: 'Budget' }));
      await fetch(`${server.url}/v1/blobs/${tracker}`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ sealed }) });
      // The operator (or whoever holds the database) edits the ciphertext in place.
      const parts = sealed.split('.');
      const bytes = fromBase64url(parts[2]!)!;
      bytes[0]! ^= 0x20;
      const edited = [parts[0], parts[1], toBase64url(bytes)].join('.');
      if (kind === 'sqlite') {
        const direct = new Database(server.db);
        direct.prepare('UPDATE blobs SET sealed = ? WHERE tracker = ?').run(edited, tracker);
        direct.close();
      } else {
        const client = new pg.Client({ connectionString: pgdb!.url });
        await client.connect();
        await client.query('UPDATE blobs SET sealed = $1 WHERE tracker = $2', [edited, tracker]);
        await client.end();
      }
      const read = await json<{ sealed: string }>(await fetch(`${server.url}/v1/blobs/${tracker}`, { headers: b.auth }));
      expect(read.sealed).toBe(edited);
      await expect(openSealed(ring, tracker, read.sealed)).rejects.toThrow(UnreadableError);
      await expect(openSealed(ring, tracker, read.sealed)).rejects.toThrow('could not be read');
      // Copying another tracker's blob onto this one is caught the same way.
      const other = trackerId();
      await expect(openSealed(ring, other, sealed)).rejects.toThrow('could not be read');
    });

    it('a delete on B reaches A as a change with sealed null; the feed pages in seq order', async () => {
      const { a, b, ring } = await pair(server.url);
      const trackers = [trackerId(), trackerId(), trackerId()];
      for (const t of trackers) {
        await fetch(`${server.url}/v1/blobs/${t}`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ sealed: await seal(ring, t, '{}') }) });
      }
      const before = await json<EventsAnswer>(await events(server.url, a, 'blobsAfter=0'));
      expect(before.blobs.map((x) => x.tracker)).toEqual(trackers);
      expect((await fetch(`${server.url}/v1/blobs/${trackers[1]}`, { method: 'DELETE', headers: b.auth })).status).toBe(204);
      const after = await json<EventsAnswer>(await events(server.url, a, `blobsAfter=${before.blobCursor}`));
      expect(after.blobs).toEqual([expect.objectContaining({ tracker: trackers[1], sealed: null })]);
      expect((await fetch(`${server.url}/v1/blobs/${trackers[1]}`, { headers: a.auth })).status).toBe(404);
      // Without blobsAfter, /v1/events answers as SPEC §3 has it, nothing more.
      expect(Object.keys(await json(await events(server.url, a, 'wait=0'))).sort()).toEqual(['cursor', 'events']);
    });

    it('refuses what is not a sealed blob, and a bad blobsAfter', async () => {
      const a = await newAccount(server.url);
      const t = trackerId();
      const bad = await fetch(`${server.url}/v1/blobs/${t}`, { method: 'PUT', headers: { ...a.auth, 'content-type': 'application/json' }, body: JSON.stringify({ sealed: 'Subject: hello' }) });
      expect(bad.status).toBe(400);
      expect((await events(server.url, a, 'blobsAfter=-1')).status).toBe(400);
      expect((await post(server.url, '/v1/pairings', { wrapped: 'x', verifier: 'y' }, a.auth)).status).toBe(400);
      expect((await post(server.url, '/v1/pairings', { wrapped: 'x', verifier: 'y' })).status).toBe(401);
    });

    it('erasing the account logs out every browser of it', async () => {
      const { a, b } = await pair(server.url);
      expect((await fetch(`${server.url}/v1/accounts/me`, { method: 'DELETE', headers: b.auth })).status).toBe(204);
      expect((await events(server.url, a, 'wait=0')).status).toBe(401);
      expect((await events(server.url, b, 'wait=0')).status).toBe(401);
    });
  });
}

describe('join rate limit per client network', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it(`answers 429 after ${JOINS_PER_NETWORK_HOUR} attempts an hour, even for unknown pairing ids`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= JOINS_PER_NETWORK_HOUR; i++) {
      statuses.push((await post(server.url, '/v1/pairings/ABCDEFGH/join', { proof: toBase64url(new Uint8Array(32)) })).status);
    }
    expect(statuses.slice(0, JOINS_PER_NETWORK_HOUR)).toEqual(Array(JOINS_PER_NETWORK_HOUR).fill(404));
    expect(statuses.at(-1)).toBe(429);
  });
});

/** Undoes the sync migration (the newest) on a database, as a server from before issue 21 left it. */
/**
 * Migrations from the sync one to the latest: sync, any-send, keys, notify, key versions (the later ones run
 * again on a schema that has them, so only the sync one's tables need undoing).
 */
const SINCE_SYNC = 5;

async function undoSyncMigration(kind: 'sqlite' | 'postgres', where: string): Promise<void> {
  const undo = 'DROP TABLE wrapped_keys; DROP TABLE blobs; DROP TABLE pairings; DROP TABLE devices; ALTER TABLE accounts DROP COLUMN blob_seq;';
  if (kind === 'sqlite') {
    const direct = new Database(where);
    direct.exec(undo);
    direct.pragma(`user_version = ${(direct.pragma('user_version', { simple: true }) as number) - SINCE_SYNC}`);
    direct.close();
  } else {
    const client = new pg.Client({ connectionString: where });
    await client.connect();
    await client.query(`${undo} DELETE FROM openping_schema WHERE version > (SELECT max(version) - ${SINCE_SYNC} FROM openping_schema);`);
    await client.end();
  }
}

describe('upgrade: an account from before devices keeps working', () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`its token becomes its first device (${kind})`, async () => {
      const pgdb = kind === 'postgres' ? await createTestDatabase('syncupgrade') : null;
      const dir = kind === 'sqlite' ? await startTestServer() : null;
      await dir?.server.close();
      const where = pgdb?.url ?? join(dir!.dir, 'upgrade.db');
      const open = () => (pgdb ? openPostgresStore(where) : openSqliteStore(where));
      try {
        const account = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
        const tokenHash = hexHash();
        let store = await open();
        await store.createAccount({ id: account, tokenHash, createdAt: 1 });
        await store.close();
        await undoSyncMigration(kind, where);
        store = await open();
        try {
          expect(await store.accountByTokenHash(tokenHash)).toBe(account);
          expect(await store.listDevices(account)).toEqual([{ id: tokenHash.slice(0, 22), account, name: null, createdAt: 1, publicKey: null }]);
        } finally {
          await store.close();
        }
      } finally {
        await pgdb?.drop();
        await dir?.stop().catch(() => undefined);
      }
    });
  }
});

/** A database as the server before key versions left it: an account rotated to version 2, one blob still under 1, one deleted. */
const BEFORE_KEY_VERSIONS = (account: string, device: string) => `
  INSERT INTO accounts (id, token_hash, created_at, blob_seq) VALUES ('${account}', '${device}${'0'.repeat(42)}', 1, 3);
  INSERT INTO devices (id, account, token_hash, name, created_at, public_key) VALUES ('${device}', '${account}', '${device}${'0'.repeat(42)}', NULL, 1, NULL);
  INSERT INTO wrapped_keys (device, version, account, wrapped, created_at) VALUES ('${device}', 2, '${account}', 'w', 1);
  INSERT INTO blobs (account, tracker, sealed, seq, updated_at) VALUES
    ('${account}', 'trackerUnderTwo0000001', '2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 1, 1),
    ('${account}', 'trackerUnderOne0000001', '1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 2, 1),
    ('${account}', 'trackerDeleted00000001', NULL, 3, 1);
`;

describe('upgrade: key versions are read from what the database holds', () => {
  const account = 'account-keyversion-01';
  const device = 'abcdef0123456789abcdef';
  async function expectUpgraded(store: Store): Promise<void> {
    expect(await store.keyState(account)).toEqual({ version: 2, rekey: false, stale: 1 });
    expect(await store.putBlob(account, 'trackerUnderOne0000001', '1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB', 2)).toEqual({ ok: false, why: 'stale-key', version: 2 });
    expect(await store.putBlob(account, 'trackerUnderOne0000001', '2.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB', 2)).toMatchObject({ ok: true });
    expect(await store.keyState(account)).toEqual({ version: 2, rekey: false, stale: 0 });
  }

  it('SQLite', async () => {
    const dir = await startTestServer();
    await dir.server.close();
    try {
      const current = new Database(join(dir.dir, 'current.db'));
      migrateSqlite(current);
      const latest = current.pragma('user_version', { simple: true }) as number;
      current.close();
      const where = join(dir.dir, 'upgrade.db');
      const old = new Database(where);
      migrateSqlite(old, latest - 1);
      old.exec(BEFORE_KEY_VERSIONS(account, device));
      old.close();
      const store = await openSqliteStore(where);
      try {
        await expectUpgraded(store);
      } finally {
        await store.close();
      }
    } finally {
      await dir.stop().catch(() => undefined);
    }
  });

  it('PostgreSQL', async () => {
    const probe = await createTestDatabase('keyversionlatest');
    const pgdb = await createTestDatabase('keyversion');
    try {
      const pools = [new pg.Pool({ connectionString: probe.url, max: 1 }), new pg.Pool({ connectionString: pgdb.url, max: 1 })] as const;
      try {
        await migratePostgres(pools[0]);
        const latest = Number((await pools[0].query<{ v: number }>('SELECT max(version) AS v FROM openping_schema')).rows[0]!.v);
        await migratePostgres(pools[1], latest - 1);
        await pools[1].query(BEFORE_KEY_VERSIONS(account, device));
      } finally {
        await Promise.all(pools.map((x) => x.end()));
      }
      const store = await openPostgresStore(pgdb.url);
      try {
        await expectUpgraded(store);
      } finally {
        await store.close();
      }
    } finally {
      await probe.drop();
      await pgdb.drop();
    }
  });
});

/** What only the store can show: time (expiry) and two joins racing. */
for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`sync store: ${kind}`, () => {
    let store: Store;
    let pgdb: TestDatabase | null = null;
    let dir: Running | null = null;
    beforeAll(async () => {
      if (kind === 'postgres') {
        pgdb = await createTestDatabase('syncstore');
        store = await openPostgresStore(pgdb.url);
      } else {
        dir = await startTestServer();
        await dir.server.close();
        store = await openSqliteStore(join(dir.dir, 'store.db'));
      }
    });
    afterAll(async () => {
      await store?.close();
      await pgdb?.drop();
      await dir?.stop().catch(() => undefined);
    });

    async function pairingFor(now: number) {
      const account = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
      await store.createAccount({ id: account, tokenHash: hexHash(), createdAt: now });
      const keys = await deriveKeys(newSecret(), FAST);
      const { wrapped, verifier } = await wrapKeyring(keyring([await generateAccountKey()]), keys);
      const id = toBase64url(crypto.getRandomValues(new Uint8Array(6))).toUpperCase().replace(/[^0-9A-HJKMNP-TV-Z]/g, '0').slice(0, 8).padEnd(8, '0');
      await store.createPairing({ id, account, wrapped, verifier, createdAt: now, expiresAt: now + PAIRING_TTL_MS, wrong: 0, usedAt: null });
      return { id, account, keys };
    }

    it('expiry: the right proof after 10 minutes is refused and adds no device', async () => {
      const now = Date.now();
      const { id, account, keys } = await pairingFor(now);
      const late = await store.joinPairing({ id, proof: keys.proof, now: now + PAIRING_TTL_MS, tokenHash: hexHash(), name: null });
      expect(late).toEqual({ ok: false, why: 'expired' });
      expect(await store.listDevices(account)).toHaveLength(1);
      const inTime = await store.joinPairing({ id, proof: keys.proof, now: now + PAIRING_TTL_MS - 1, tokenHash: hexHash(), name: null });
      expect(inTime).toMatchObject({ ok: true, account });
    });

    it('two joins with the right proof at once: exactly one gets in', async () => {
      const now = Date.now();
      const { id, account, keys } = await pairingFor(now);
      const outcomes = await Promise.all(
        ['race1', 'race2', 'race3'].map((t) => store.joinPairing({ id, proof: keys.proof, now, tokenHash: hexHash(), name: t })),
      );
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(outcomes.filter((o) => !o.ok && o.why === 'used')).toHaveLength(2);
      expect(await store.listDevices(account)).toHaveLength(2);
    });

    it('blob seqs increase per account with every put and delete; a later change replaces the earlier', async () => {
      const account = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
      await store.createAccount({ id: account, tokenHash: hexHash(), createdAt: Date.now() });
      const t = trackerId();
      const s1 = seqOf(await store.putBlob(account, t, '1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 1));
      const s2 = seqOf(await store.putBlob(account, t, null, 2));
      expect(s2).toBeGreaterThan(s1);
      expect((await store.blobChanges(account, 0, 10)).blobs).toEqual([{ tracker: t, sealed: null, seq: s2, updatedAt: 2 }]);
      expect(await store.blobChanges(account, s2, 10)).toEqual({ blobs: [], cursor: s2 });
    });
  });
}

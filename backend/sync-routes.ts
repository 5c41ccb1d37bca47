/**
 * Routes for one account on several browsers (issue 21), listed in http.ts's route table. The server
 * only ever handles ciphertext here: sealed blobs (lib/seal.ts) and a pairing's wrapped keyring
 * (lib/pairing-protocol.ts); it checks sizes and shapes, never contents.
 *
 *   GET    /v1/devices                    the account's browsers
 *   DELETE /v1/devices/{device}           revokes one: its token gets 401 from then on
 *   PUT    /v1/device/key                 {publicKey} → 204: this browser's ECDH public key, once (409 after)
 *   POST   /v1/keys                       {version, wraps: [{device, wrapped}]} → 201: a rotated key, wrapped per device
 *   GET    /v1/keys                       → 200 {version, rekey, stale}: where the account's key rotation stands
 *   GET    /v1/keys/{version}             → 200 {version, device, wrapped}: this browser's wrap of that key
 *   GET    /v1/blobs?after=<n>            → 200 {blobs, cursor, keys}: the sealed-blob changes after n (for re-sealing)
 *   POST   /v1/pairings                   {wrapped, verifier} → 201 {pairing, expiresAt}
 *   POST   /v1/pairings/{pairing}/join    {proof, name?} → 200 {account, token, pixelBase, device, wrapped} (no token needed)
 *   PUT    /v1/blobs/{tracker}            {sealed, base?} → 200 {tracker, seq}; 409 stale_key (sealed under a key older
 *                                         than the account's), 409 blob_changed (base given and the blob moved on)
 *   GET    /v1/blobs/{tracker}            → 200 {tracker, sealed, seq, updatedAt}
 *   DELETE /v1/blobs/{tracker}            → 204; the deletion is a change in the feed (sealed: null)
 *   GET    /v1/events?…&blobsAfter=<n>    the events feed with the blob changes after n alongside (see http.ts)
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { clientAddress } from './clientip.ts';
import { authenticate, hashToken, HttpError, readJson, sendJson, trackerId, validate, type Ctx, type Handler } from './http.ts';
import { lookupNetwork } from './ipdata/index.ts';
import { newPairingId, PAIRING_ID, PAIRING_MAX_WRONG, PAIRING_TTL_MS } from './pairing.ts';
import type { BlobsPage, KeyState } from './store/sync-types.ts';

const HOUR = 3_600_000;
/** Pairings an account may start an hour: a person adds a browser now and then, not hundreds. */
export const PAIRINGS_PER_HOUR = 10;
/**
 * Join attempts a client network may make an hour, right or wrong, known pairing id or not: with 40-bit
 * pairing ids and 10-minute lives this keeps a network's chance of even hitting a live id negligible;
 * the wrong-proof burn (PAIRING_MAX_WRONG) then bounds guesses at the secret.
 */
export const JOINS_PER_NETWORK_HOUR = 20;
/** Blob writes an account may make an hour (an email's blob changes a few times: sent, reminder, delete). */
export const BLOB_WRITES_PER_HOUR = 3000;
/** A sealed blob: `<version>.<nonce>.<ciphertext>`, base64url (lib/seal.ts); 8 KiB holds a long subject and many recipients. */
export const MAX_SEALED_CHARS = 8192;
const SEALED = /^[1-9][0-9]{0,9}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;
const B64_32 = /^[A-Za-z0-9_-]{43}$/;
export const BLOB_PAGE_LIMIT = 500;

const Sealed = v.pipe(v.string('sealed must be a string'), v.maxLength(MAX_SEALED_CHARS, `sealed must be at most ${MAX_SEALED_CHARS} characters`), v.regex(SEALED, 'sealed must be a sealed blob (version.nonce.ciphertext)'));
const PutBlobBody = v.object(
  {
    sealed: Sealed,
    // The seq of the blob this write builds on (0: none): a blob that moved on since is not overwritten.
    base: v.optional(v.pipe(v.number('base must be a number'), v.integer('base must be a whole number'), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))),
  },
  'expected a JSON object {"sealed": "…", "base"?: n}',
);
const PairingBody = v.object(
  {
    wrapped: Sealed,
    verifier: v.pipe(v.string(), v.regex(B64_32, 'verifier must be 32 bytes of base64url')),
  },
  'expected a JSON object {"wrapped", "verifier"}',
);
const JoinBody = v.object(
  {
    proof: v.pipe(v.string(), v.regex(B64_32, 'proof must be 32 bytes of base64url')),
    name: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64, 'name must be at most 64 characters')))),
  },
  'expected a JSON object {"proof", "name"?}',
);

/** An uncompressed P-256 point, 65 bytes in base64url (lib/keywrap.ts PUBLIC_KEY). */
const PUBLIC_KEY = /^[A-Za-z0-9_-]{87}$/;
const DeviceKeyBody = v.object(
  { publicKey: v.pipe(v.string(), v.regex(PUBLIC_KEY, 'publicKey must be an uncompressed P-256 point in base64url')) },
  'expected a JSON object {"publicKey"}',
);
/** A wrap: the ephemeral public key, `~`, a sealed blob (lib/keywrap.ts). */
const WRAPPED = /^[A-Za-z0-9_-]{87}~[1-9][0-9]{0,9}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,200}$/;
/** Wraps one rotation may carry: more browsers than a person has. */
export const MAX_WRAPS = 100;
const WrapsBody = v.object(
  {
    version: v.pipe(v.number(), v.integer(), v.minValue(2, 'version must be 2 or more (1 is the key made with the account)'), v.maxValue(2 ** 31 - 1)),
    wraps: v.pipe(
      v.array(
        v.object({
          device: v.pipe(v.string(), v.regex(/^[0-9a-f]{22}$/, 'device must be a device id')),
          wrapped: v.pipe(v.string(), v.regex(WRAPPED, 'wrapped must be a key wrap (publicKey~sealed)')),
        }),
      ),
      v.minLength(1, 'wraps must name at least one device'),
      v.maxLength(MAX_WRAPS, `at most ${MAX_WRAPS} wraps`),
    ),
  },
  'expected a JSON object {"version", "wraps": [{"device", "wrapped"}]}',
);

function rateLimited(message: string, now: number): HttpError {
  return new HttpError(429, 'rate_limited', message, { 'retry-after': String(Math.max(1, Math.ceil((HOUR - (now % HOUR)) / 1000))) });
}

const devices: Handler = async (ctx) => {
  const { account, device } = await authenticateDevice(ctx);
  const list = await ctx.app.store.listDevices(account);
  sendJson(ctx.res, 200, { devices: list.map((d) => ({ id: d.id, name: d.name, createdAt: d.createdAt, publicKey: d.publicKey, current: d.id === device })) });
};

const putDeviceKey: Handler = async (ctx) => {
  const { account, device } = await authenticateDevice(ctx);
  const body = validate(DeviceKeyBody, await readJson(ctx), 'Device key');
  // Once: a key that could be replaced would let a stolen token redirect the next rotation's wrap.
  if (!(await ctx.app.store.setDevicePublicKey(account, device, body.publicKey))) {
    throw new HttpError(409, 'key_exists', 'This browser already registered its key; pair it again to change it.');
  }
  sendJson(ctx.res, 204, undefined);
};

const putWraps: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const body = validate(WrapsBody, await readJson(ctx), 'Key wraps');
  const outcome = await ctx.app.store.putWrappedKeys(account, body.version, body.wraps, Date.now());
  if (outcome === 'unknown-device') throw new HttpError(400, 'unknown_device', 'A wrap names a browser that is not on this account (revoked?).');
  if (outcome === 'exists') throw new HttpError(409, 'key_exists', `Key version ${body.version} was already handed out; rotate to a newer one.`);
  sendJson(ctx.res, 201, { version: body.version });
};

const getWrap: Handler = async (ctx) => {
  const { device } = await authenticateDevice(ctx);
  const text = ctx.params.version ?? '';
  const version = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  const wrapped = Number.isSafeInteger(version) ? await ctx.app.store.wrappedKey(device, version) : null;
  if (!wrapped) throw new HttpError(404, 'no_key', 'No key of this version was handed to this browser; pair it again.');
  sendJson(ctx.res, 200, { version, device, wrapped });
};

const listBlobs: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const after = parseBlobsAfter(ctx.query.get('after') ?? '0') ?? 0;
  sendJson(ctx.res, 200, await blobPage(ctx, account, after));
};

const revokeDevice: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const id = ctx.params.device ?? '';
  if (!/^[0-9a-f]{22}$/.test(id) || !(await ctx.app.store.revokeDevice(account, id))) {
    throw new HttpError(404, 'not_found', 'No such browser on this account.');
  }
  sendJson(ctx.res, 204, undefined);
};

const createPairing: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const body = validate(PairingBody, await readJson(ctx), 'Pairing');
  const now = Date.now();
  if ((await ctx.app.store.countRate(`pairings:${account}`, HOUR, now)) > PAIRINGS_PER_HOUR) {
    throw rateLimited(`At most ${PAIRINGS_PER_HOUR} pairing codes an hour; try again later.`, now);
  }
  const pairing = newPairingId();
  const expiresAt = now + PAIRING_TTL_MS;
  await ctx.app.store.createPairing({ id: pairing, account, wrapped: body.wrapped, verifier: body.verifier, createdAt: now, expiresAt, wrong: 0, usedAt: null });
  sendJson(ctx.res, 201, { pairing, expiresAt });
};

const GONE = () => new HttpError(404, 'pairing_gone', 'This pairing code has expired or was already used; make a new one on the other browser.');

const joinPairing: Handler = async (ctx) => {
  const { app, req, res } = ctx;
  const ip = clientAddress(req.socket.remoteAddress, req.headers, { trust: app.config.trustProxy, header: app.config.proxyHeader });
  const network = ip ? lookupNetwork(ip)?.prefix : null;
  const now = Date.now();
  // Counted before anything is looked up, so probing for live pairing ids costs the same as guessing.
  if ((await app.store.countRate(`joins:${network ?? 'unknown'}`, HOUR, now)) > JOINS_PER_NETWORK_HOUR) {
    throw rateLimited('Too many attempts to join from this network; try again later.', now);
  }
  const id = (ctx.params.pairing ?? '').toUpperCase();
  if (!PAIRING_ID.test(id)) throw GONE();
  const body = validate(JoinBody, await readJson(ctx), 'Join');
  const token = randomBytes(32).toString('base64url');
  const outcome = await app.store.joinPairing({ id, proof: body.proof, now, tokenHash: hashToken(token), name: body.name ?? null });
  if (!outcome.ok) {
    if (outcome.why === 'wrong') {
      throw new HttpError(
        403,
        'wrong_code',
        outcome.burned
          ? `The code was wrong ${PAIRING_MAX_WRONG} times; it no longer works. Make a new one on the other browser.`
          : 'The code is not right; check it against the other browser.',
      );
    }
    throw GONE();
  }
  sendJson(res, 200, {
    account: outcome.account,
    token,
    pixelBase: `${app.config.publicUrl}/p/${outcome.account}/`,
    device: outcome.device.id,
    wrapped: outcome.wrapped,
  });
};

const putBlob: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  const body = validate(PutBlobBody, await readJson(ctx), 'Blob');
  sendJson(ctx.res, 200, { tracker, seq: await writeBlob(ctx, account, tracker, body.sealed, body.base) });
};

const keyState: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  sendJson(ctx.res, 200, await ctx.app.store.keyState(account));
};

const deleteBlob: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  await writeBlob(ctx, account, tracker, null);
  sendJson(ctx.res, 204, undefined);
};

async function writeBlob(ctx: Ctx, account: string, tracker: string, sealed: string | null, base?: number): Promise<number> {
  const now = Date.now();
  if ((await ctx.app.store.countRate(`blobs:${account}`, HOUR, now)) > BLOB_WRITES_PER_HOUR) {
    throw rateLimited(`At most ${BLOB_WRITES_PER_HOUR} sealed-blob writes an hour; try again later.`, now);
  }
  const outcome = await ctx.app.store.putBlob(account, tracker, sealed, now, base);
  if (outcome.ok) return outcome.seq;
  if (outcome.why === 'stale-key') {
    throw new HttpError(409, 'stale_key', `The account's key was rotated to version ${outcome.version}; seal the blob under it (GET /v1/keys/${outcome.version}) and put it again.`);
  }
  throw new HttpError(409, 'blob_changed', `The blob changed since seq ${base} (now ${outcome.seq}); read it, merge, and put it again.`);
}

const getBlob: Handler = async (ctx) => {
  const account = await authenticate(ctx);
  const tracker = trackerId(ctx);
  const blob = await ctx.app.store.getBlob(account, tracker);
  if (!blob || blob.sealed === null) throw new HttpError(404, 'not_found', 'No sealed blob for this tracker.');
  sendJson(ctx.res, 200, blob);
};

/** The account (and this token's device) for calls that need to know which browser asks. */
export async function authenticateDevice(ctx: Ctx): Promise<{ account: string; device: string }> {
  const account = await authenticate(ctx);
  const match = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(String(ctx.req.headers.authorization).trim());
  const device = match ? await ctx.app.store.deviceByTokenHash(hashToken(match[1]!)) : null;
  if (!device || device.account !== account) throw new HttpError(401, 'unauthorized', 'This token belongs to no account (it may have been revoked).');
  return { account, device: device.id };
}

/** `blobsAfter` of GET /v1/events: a whole number, the `blobCursor` of the previous answer (0: from the start). */
export function parseBlobsAfter(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(value)) throw new HttpError(400, 'bad_cursor', 'blobsAfter must be the blobCursor of an earlier answer, or 0.');
  return Number(value);
}

/** The blob changes after `after`, with where the account's key rotation stands (a browser resumes an interrupted one from it). */
export async function blobPage(ctx: Ctx, account: string, after: number): Promise<BlobsPage & { keys: KeyState }> {
  return { ...(await ctx.app.store.blobChanges(account, after, BLOB_PAGE_LIMIT)), keys: await ctx.app.store.keyState(account) };
}

export const SYNC_ROUTES: Array<[Array<'GET' | 'POST' | 'PUT' | 'DELETE'>, string, string, Handler]> = [
  [['GET'], '/v1/devices', 'devices', devices],
  [['DELETE'], '/v1/devices/:device', 'devices', revokeDevice],
  [['POST'], '/v1/pairings', 'pairings', createPairing],
  [['POST'], '/v1/pairings/:pairing/join', 'pairings/join', joinPairing],
  [['PUT'], '/v1/device/key', 'device/key', putDeviceKey],
  [['POST'], '/v1/keys', 'keys', putWraps],
  [['GET'], '/v1/keys', 'keys', keyState],
  [['GET'], '/v1/keys/:version', 'keys', getWrap],
  [['GET'], '/v1/blobs', 'blobs', listBlobs],
  [['PUT'], '/v1/blobs/:tracker', 'blobs', putBlob],
  [['GET'], '/v1/blobs/:tracker', 'blobs', getBlob],
  [['DELETE'], '/v1/blobs/:tracker', 'blobs', deleteBlob],
];

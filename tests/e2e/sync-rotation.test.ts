/**
 * A key rotation cut short (issue 21), end to end: two profiles of real Chromium with the built extension,
 * paired, against the real server. A third browser C is revoked, and the rotation stops after re-sealing
 * one of three blobs, as if A's service worker died there. The rotation's first half is played from this
 * test over HTTP with A's own keys (A's keyring and B's and A's registered public keys): Chrome offers no
 * hook to stop a worker between two of its requests. Then A's worker is killed as Chrome does, wakes again,
 * and its sync finishes the re-seal; both browsers still show every email with its subject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killWorker, launchExtension, localEmail, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { PopupPage, waitForIdentity } from './pages/popup';
import { wrapForDevice } from '../../lib/keywrap';
import { deriveKeys, newSecret, wrapKeyring } from '../../lib/pairing-protocol';
import { generateAccountKey, importKey, keyring, openSealed, reseal, sealedVersion, type Keyring } from '../../lib/seal';

let server: TestServer;
let a: ExtensionSession;
let b: ExtensionSession;

beforeAll(async () => {
  server = await startServer();
  a = await launchExtension();
  b = await launchExtension();
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

async function api<T>(token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** The extension's live service worker (a new one after it was stopped and woke again). */
function liveWorker(session: ExtensionSession) {
  return session.context.serviceWorkers().at(-1) ?? session.worker;
}

async function storedRing(session: ExtensionSession): Promise<Keyring> {
  const worker = liveWorker(session);
  const stored = (await worker.evaluate(() => chrome.storage.local.get('keyring'))) as { keyring: { keys: { version: number; raw: string }[] } };
  return keyring(await Promise.all(stored.keyring.keys.map(importKey)));
}

type Blob = { tracker: string; sealed: string | null; seq: number };

describe('a key rotation cut short', () => {
  it('revoking C stops after re-sealing 1 of 3 blobs; A\'s worker dies and wakes: it finishes the re-seal; A and B read every subject', async () => {
    const idA = await waitForIdentity(a.worker, 30_000);
    await waitForIdentity(b.worker, 30_000);

    // Pair B through the options pages.
    const optionsA = await a.context.newPage();
    await optionsA.goto(`chrome-extension://${a.extensionId}/options.html`);
    await optionsA.locator('[data-action="pair-start"]').click();
    const code = (await optionsA.locator('[data-openping="pairing-code"]').textContent({ timeout: 30_000 }))!.trim();
    const optionsB = await b.context.newPage();
    await optionsB.goto(`chrome-extension://${b.extensionId}/options.html`);
    await optionsB.locator('input[name="pairing-code"]').fill(code);
    await optionsB.locator('[data-action="pair-join"]').click();
    await expect.poll(async () => (await waitForIdentity(b.worker)).account, { timeout: 30_000 }).toBe(idA.account);

    // A sends three tracked emails; B shows them with their subjects.
    const popupA = await PopupPage.open(a.context, a.extensionId);
    const subjects = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const tracker = `rotationE2e${i}${'x'.repeat(10)}`;
      const subject = `Rotation survives a crash ${i}`;
      subjects.set(tracker, subject);
      await popupA.sendToBackground({ type: 'sent', email: { tracker, webmail: 'gmail', subject, recipients: [{ name: null, address: `r${i}@example.org` }], sentAt: Date.now(), threadUrl: null } });
    }
    for (const [tracker, subject] of subjects) await expect.poll(async () => (await localEmail(b.worker, tracker))?.subject ?? null, { timeout: 30_000 }).toBe(subject);
    const blobs = async () => (await api<{ blobs: Blob[] }>(idA.token, '/v1/blobs?after=0')).body.blobs.filter((x) => subjects.has(x.tracker) && x.sealed !== null);
    await expect.poll(async () => (await blobs()).length, { timeout: 30_000 }).toBe(3);

    // C joins with a pairing made from A's keyring.
    const ringA = await storedRing(a);
    const keys = await deriveKeys(newSecret(), 1000);
    const made = await api<{ pairing: string }>(idA.token, '/v1/pairings', { method: 'POST', body: await wrapKeyring(ringA, keys) });
    const c = await api<{ token: string; device: string }>('', `/v1/pairings/${made.body.pairing}/join`, { method: 'POST', body: { proof: keys.proof, name: 'Browser C' } });
    expect(c.status).toBe(200);

    // B sleeps (its worker stopped, no page of it open), so it is A that finishes on waking.
    await optionsB.close();
    const blank = await b.context.newPage();
    await killWorker(b, { page: blank });

    // A's rotation, cut short: C revoked, version 2 wrapped for A and B (their registered keys), one blob re-sealed.
    expect((await api(idA.token, `/v1/devices/${c.body.device}`, { method: 'DELETE' })).status).toBe(204);
    const { devices } = (await api<{ devices: { id: string; publicKey: string | null }[] }>(idA.token, '/v1/devices')).body;
    expect(devices).toHaveLength(2);
    expect(devices.every((d) => d.publicKey !== null)).toBe(true);
    const v2 = await generateAccountKey(2);
    const wraps = await Promise.all(devices.map(async (d) => ({ device: d.id, wrapped: await wrapForDevice(v2, d.id, d.publicKey!) })));
    expect((await api(idA.token, '/v1/keys', { method: 'POST', body: { version: 2, wraps } })).status).toBe(201);
    const rotated = keyring([ringA.current, v2]);
    const first = (await blobs())[0]!;
    expect((await api(idA.token, `/v1/blobs/${first.tracker}`, { method: 'PUT', body: { sealed: await reseal(rotated, first.tracker, first.sealed!), base: first.seq } })).status).toBe(200);
    expect((await api<{ version: number; stale: number }>(idA.token, '/v1/keys')).body).toMatchObject({ version: 2, stale: 2 });

    // A's worker dies as Chrome stops it, and wakes at the next extension event.
    await killWorker(a, popupA);
    await popupA.reload();
    await expect.poll(async () => (await api<{ stale: number }>(idA.token, '/v1/keys')).body.stale, { timeout: 60_000, interval: 250 }).toBe(0);

    // Every blob is under version 2 and opens with A's keyring (its own wrap of version 2, fetched on waking).
    const ringA2 = await storedRing(a);
    expect(ringA2.current.version).toBe(2);
    for (const x of await blobs()) {
      expect(sealedVersion(x.sealed!)).toBe(2);
      expect(JSON.parse(await openSealed(ringA2, x.tracker, x.sealed!)).fields.subject.value).toBe(subjects.get(x.tracker));
    }
    for (const [tracker, subject] of subjects) expect((await localEmail(liveWorker(a), tracker))?.subject).toBe(subject);
    // B wakes, reads the re-sealed blobs (fetching its wrap of version 2) and still shows every subject.
    const popupB = await PopupPage.open(b.context, b.extensionId);
    await expect.poll(async () => (await storedRing(b)).current.version, { timeout: 60_000 }).toBe(2);
    for (const [tracker, subject] of subjects) expect((await localEmail(liveWorker(b), tracker))?.subject).toBe(subject);
    await popupB.close();
    await popupA.close();
  }, 240_000);
});

/**
 * One account on two browsers (issue 21), end to end: two profiles of real Chromium, each with the built
 * extension, against the real server. A shows a pairing code, B joins with it; a tracked email sent from
 * A (Gmail fixture) shows on B with its subject; deleting it on B removes it on A.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchExtension, localEmail, removeServerData, startServer, type ExtensionSession, type TestServer } from './harness';
import { GmailPage, imageSources, routeGmail } from './pages/gmail';
import { PopupPage, waitForIdentity } from './pages/popup';
import { importKey, keyring, openSealed, sealedVersion } from '../../lib/seal';

let server: TestServer;
let a: ExtensionSession;
let b: ExtensionSession;

beforeAll(async () => {
  server = await startServer();
  a = await launchExtension();
  b = await launchExtension();
  await routeGmail(a.context);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
  if (server) removeServerData(server);
});

async function optionsPage(session: ExtensionSession) {
  const page = await session.context.newPage();
  await page.goto(`chrome-extension://${session.extensionId}/options.html`);
  await page.locator('[data-openping="devices"]').waitFor();
  return page;
}

describe('two browsers, one account', () => {
  it('pairs, shows A\'s tracked email with its subject on B, and a delete on B removes it on A', async () => {
    const idA = await waitForIdentity(a.worker, 30_000);
    const idB0 = await waitForIdentity(b.worker, 30_000);
    expect(idB0.account).not.toBe(idA.account);

    // A: "Add another browser" shows the code.
    const optionsA = await optionsPage(a);
    await optionsA.locator('[data-action="pair-start"]').click();
    const code = (await optionsA.locator('[data-openping="pairing-code"]').textContent({ timeout: 30_000 }))!.trim();
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
    // The same code as a QR code, drawn (an SVG image that loaded, not a broken one).
    const qr = optionsA.locator('[data-openping="pairing-qr"]');
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    // B: "Join another browser's account".
    const optionsB = await optionsPage(b);
    await optionsB.locator('input[name="pairing-code"]').fill(code);
    await optionsB.locator('[data-action="pair-join"]').click();
    await expect.poll(async () => (await waitForIdentity(b.worker)).account, { timeout: 30_000 }).toBe(idA.account);
    await expect.poll(() => optionsB.locator('[data-openping="device"]').count(), { timeout: 15_000 }).toBe(2);

    // A sends a tracked email from Gmail.
    const subject = 'Paired browsers see this subject';
    const gmail = await GmailPage.open(a.context);
    const compose = await gmail.openCompose();
    await gmail.toggleReady(compose);
    await gmail.write(compose, { to: 'dana@example.org', subject, body: 'Hello from browser A.' });
    await gmail.sendButton(compose).click();
    const [message] = await gmail.waitSent(1);
    const tracker = imageSources(message!.body)
      .filter((src) => src.startsWith(idA.pixelBase))
      .map((src) => src.slice(idA.pixelBase.length).replace(/\.gif$/, ''))[0]!;
    expect(tracker).toBeTruthy();

    // B shows it with its subject within seconds (its live poll is woken by A's sealed blob).
    const started = Date.now();
    await expect.poll(async () => (await localEmail(b.worker, tracker))?.subject ?? null, { timeout: 30_000 }).toBe(subject);
    console.log(`[pairing e2e] A's email reached B in ${Date.now() - started} ms`);
    const popupB = await PopupPage.open(b.context, b.extensionId);
    await expect.poll(() => popupB.stateOf(subject), { timeout: 15_000 }).toBe('sent');

    // Delete on B → gone on A.
    expect(await popupB.sendToBackground({ type: 'deleteEmail', tracker })).toEqual({ ok: true });
    expect(await localEmail(b.worker, tracker)).toBeNull();
    await expect.poll(async () => await localEmail(a.worker, tracker), { timeout: 30_000 }).toBeNull();
    await popupB.close();
  }, 180_000);

  it('revoking B from A rotates the key: the blobs on the server are version 2, A reads them, B is logged out', async () => {
    const idA = await waitForIdentity(a.worker, 30_000);
    const gmail = await GmailPage.open(a.context);
    const subject = 'Sealed again after B is revoked';
    const compose = await gmail.openCompose();
    await gmail.toggleReady(compose);
    await gmail.write(compose, { to: 'erin@example.org', subject, body: 'Hello again.' });
    await gmail.sendButton(compose).click();
    await gmail.waitSent(1);
    type Blobs = { blobs: { tracker: string; sealed: string | null }[] };
    const blobs = async () => (await (await fetch(`${server.url}/v1/blobs?after=0`, { headers: { authorization: `Bearer ${idA.token}` } })).json()) as Blobs;
    await expect.poll(async () => (await blobs()).blobs.filter((x) => x.sealed !== null).length, { timeout: 30_000 }).toBeGreaterThan(0);
    // Both browsers have registered their public keys (A before pairing, B when it joined).
    const optionsA = await optionsPage(a);
    await expect.poll(() => optionsA.locator('[data-openping="device"]').count(), { timeout: 15_000 }).toBe(2);
    expect(await optionsA.locator('[data-openping="device-no-key"]').count()).toBe(0);

    await optionsA.locator('[data-openping="device"][data-current="false"] [data-action="revoke-device"]').click();
    await expect(optionsA.locator('[data-openping="devices-notice"]').textContent({ timeout: 30_000 })).resolves.toMatch(/logged out/);
    await expect.poll(() => optionsA.locator('[data-openping="device"]').count(), { timeout: 15_000 }).toBe(1);

    // Every blob on the server is now sealed under version 2, and A's keyring (read from its storage) opens it.
    const stored = (await a.worker.evaluate(() => chrome.storage.local.get('keyring'))) as { keyring: { keys: { version: number; raw: string }[] } };
    const ring = keyring(await Promise.all(stored.keyring.keys.map(importKey)));
    expect(ring.current.version).toBe(2);
    const live = (await blobs()).blobs.filter((x) => x.sealed !== null);
    expect(live.length).toBeGreaterThan(0);
    for (const x of live) {
      expect(sealedVersion(x.sealed!)).toBe(2);
      expect(await openSealed(ring, x.tracker, x.sealed!)).toContain('"subject"');
    }
    // B is out: its next sync finds its token refused and it starts afresh on a new account.
    await expect.poll(async () => (await waitForIdentity(b.worker, 60_000)).account, { timeout: 60_000 }).not.toBe(idA.account);
  }, 180_000);
});

/** lib/api.ts against the real tracking server in-process: replies and every kind of failure. */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  checkHealth,
  createAccount,
  deleteTracker,
  getEvents,
  normalizeServer,
  putTracker,
} from '../../lib/api';
import { apiErrorText, errorWords } from '../../lib/api-words';
import { PairingCodeError } from '../../lib/pairing-protocol';
import { useLocale } from './i18n-setup';
import { startTestServer, type Running } from '../server/helpers';

let s: Running;
beforeAll(async () => {
  s = await startTestServer({ accountsPerHour: 1000 });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('normalizeServer', () => {
  it('keeps scheme, host and path without trailing slashes; refuses other schemes', () => {
    expect(normalizeServer(' https://track.example/openping/ ')).toBe('https://track.example/openping');
    expect(normalizeServer('http://localhost:8787')).toBe('http://localhost:8787');
    expect(() => normalizeServer('ftp://x')).toThrow(ApiError);
    expect(() => normalizeServer('not a url')).toThrow();
  });
});

describe('calls', () => {
  it('creates an account, registers a tracker and reads the feed', async () => {
    const acc = await createAccount(s.url);
    const creds = { server: s.url, token: acc.token };
    expect(await putTracker(creds, 'apiTestTracker00000001', 'sent', Date.now())).toMatchObject({ state: 'sent' });
    const page = await getEvents(creds, null, 0);
    expect(page.events).toEqual([]);
    expect(typeof page.cursor === 'string' || page.cursor === null).toBe(true);
    await checkHealth(s.url);
  });

  it('maps failures: 401 unauthorized, 400 rejected, 404 rejected, refused connection network', async () => {
    const acc = await createAccount(s.url);
    const bad = await failure(getEvents({ server: s.url, token: 'A'.repeat(43) }, null, 0));
    expect([bad.failure, bad.status, bad.retryable]).toEqual(['unauthorized', 401, true]);

    const creds = { server: s.url, token: acc.token };
    const tooOld = await failure(putTracker(creds, 'apiTestTracker00000002', 'sent', Date.now() - 30 * 86_400_000));
    expect([tooOld.failure, tooOld.status, tooOld.retryable]).toEqual(['rejected', 400, false]);
    expect(tooOld.message).toMatch(/sentAt/);

    const missing = await failure(deleteTracker(creds, 'apiTestTracker00000003'));
    expect([missing.failure, missing.status]).toEqual(['rejected', 404]);

    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await failure(checkHealth(`http://127.0.0.1:${port}`));
    expect([down.failure, down.status, down.retryable]).toEqual(['network', null, true]);

    const notOurs = await failure(checkHealth(`${s.url}/elsewhere`));
    expect(notOurs.failure).toBe('rejected');
  });
});

describe('the words a user reads of a failure (lib/api-words.ts)', () => {
  afterEach(() => useLocale('en'));

  /** Real failures of each kind, plus the server codes a page cannot easily provoke. */
  async function failures(): Promise<ApiError[]> {
    const acc = await createAccount(s.url);
    const creds = { server: s.url, token: acc.token };
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    let scheme: ApiError | null = null;
    try {
      normalizeServer('ftp://track.example');
    } catch (error) {
      scheme = error as ApiError;
    }
    return [
      await failure(getEvents({ server: s.url, token: 'A'.repeat(43) }, null, 0)),
      await failure(putTracker(creds, 'apiTestTracker00000004', 'sent', Date.now() - 30 * 86_400_000)),
      await failure(checkHealth(`http://127.0.0.1:${port}`)),
      await failure(checkHealth(`${s.url}/elsewhere`)),
      scheme!,
      new ApiError('server', 429, 'Too many accounts created from this network; try again later.', 'rate_limited'),
      new ApiError('server', 503, 'The server cannot store anything right now; try again in a minute.', 'store_failing'),
      new ApiError('rejected', 404, 'This pairing code has expired or was already used.', 'pairing_gone'),
      new ApiError('server', 200, 'The tracking server sent a reply that is not JSON.', null, 'not-json'),
      new ApiError('server', 200, 'The tracking server sent an events page without events.', null, 'incomplete'),
      new ApiError('server', 200, "The tracking server's pages do not come to an end.", null, 'endless'),
      new ApiError('server', 200, 'The server answered, but not like an OpenPing tracking server.', null, 'not-openping'),
    ];
  }

  it('are German in a German browser: none is the English one, none is the log message, values filled in', async () => {
    const errors = await failures();
    const english = errors.map(apiErrorText);
    await useLocale('de');
    const german = errors.map(apiErrorText);
    for (const [i, text] of german.entries()) {
      expect(text, `error ${i}`).not.toBe(english[i]);
      expect(text, `error ${i}`).not.toBe(errors[i]!.message);
      expect(text, `error ${i}`).not.toMatch(/\{[A-Za-z]+\}/);
    }
    expect(german[0]).toBe('Der Tracking-Server kennt diesen Browser nicht mehr (Token abgelehnt). Öffnen Sie die Einstellungen, um ihn neu zu verbinden.');
    // A code without words of its own: the status in German, then the server's own sentence (English, for the operator).
    expect(german[1]).toMatch(/^Der Tracking-Server antwortete mit 400: .*sentAt/);
    expect(german[2]).toMatch(/^Der Tracking-Server unter http:\/\/127\.0\.0\.1:\d+ ist nicht erreichbar\.$/);
    expect(german[4]).toContain('ftp:');
    expect(errorWords(new PairingCodeError())).toMatch(/^Das ist kein Kopplungscode/);
    expect(errorWords(new Error('plain'))).toBe('plain');
  });
});

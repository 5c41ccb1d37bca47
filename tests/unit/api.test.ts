/** lib/api.ts against the real tracking server in-process: replies and every kind of failure. */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  checkHealth,
  createAccount,
  deleteTracker,
  getEvents,
  normalizeServer,
  putTracker,
} from '../../lib/api';
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

/**
 * `npm run reclassify` on a real SQLite file and a real PostgreSQL database:
 * hits recorded through the real
 * server, then the rules' inputs change behind its back (a self-view stored
 * without a relabel; a label written by "older rules"), then the real command
 * runs, and the events feed carries each relabelled hit once more with the
 * same id and its current kind.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { createLogger } from '../../backend/log.ts';
import { createServer, type OpenPingServer } from '../../backend/server.ts';
import { openStore } from '../../backend/store/index.ts';
import type { Hit } from '../../backend/store/types.ts';
import { UA } from '../fixtures/classify-corpus.ts';
import { trackerId } from './helpers.ts';
import { createTestDatabase } from './pg.ts';

const dir = mkdtempSync(join(tmpdir(), 'openping-reclassify-'));
const silent = createLogger('error', { write: () => undefined });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`npm run reclassify (${backend})`, () => {
    let db: string;
    let dropDatabase: () => Promise<void> = async () => undefined;

    async function startServer(): Promise<{ server: OpenPingServer; url: string }> {
      const server = createServer({ port: 0, host: '127.0.0.1', db, publicUrl: 'https://ping.example', trustProxy: parseTrustProxy('loopback') }, { logger: silent });
      const { url } = await server.listen();
      return { server, url };
    }

    function pixel(url: string, ip: string, ua: string): Promise<number> {
      return new Promise((resolve, reject) => {
        const req = request(url, { headers: { 'x-forwarded-for': ip, 'user-agent': ua }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    }

    function reclassify(args: string[] = [], env: Record<string, string> = { OPENPING_DB: db }): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile('npm', ['run', '--silent', 'reclassify', '--', ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        });
      });
    }

    let account: { account: string; token: string };
    let tracker: string;
    let gmailHit: Hit;
    let mppHit: Hit;
    /** The feed position after every label written before the command ran. */
    let cursor: string;

    beforeAll(async () => {
      if (backend === 'sqlite') db = join(dir, 'openping.db');
      else {
        const pg = await createTestDatabase('reclassify');
        db = pg.url;
        dropDatabase = pg.drop;
      }
      const { server, url } = await startServer();
      try {
        account = (await (await fetch(`${url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
        const auth = { authorization: `Bearer ${account.token}`, 'content-type': 'application/json' };
        tracker = trackerId();
        const put = await fetch(`${url}/v1/trackers/${tracker}`, { method: 'PUT', headers: auth, body: JSON.stringify({ state: 'sent', sentAt: Date.now() - 3_600_000 }) });
        expect(put.status).toBe(200);
        expect(await pixel(`${url}/p/${account.account}/${tracker}.gif`, '66.249.93.10', UA.gmailProxy)).toBe(200);
        expect(await pixel(`${url}/p/${account.account}/${tracker}.gif`, '17.58.63.10', UA.mpp)).toBe(200);
        const read = (await (await fetch(`${url}/v1/trackers/${tracker}`, { headers: auth })).json()) as { hits: Hit[] };
        [gmailHit, mppHit] = read.hits as [Hit, Hit];
        expect([gmailHit.kind, mppHit.kind]).toEqual(['open', 'prefetch']);
      } finally {
        await server.close();
      }

      const store = await openStore(db);
      try {
        // A rule input changes: the sender's own view, stored without the relabel the HTTP route would do.
        expect(await store.addSelfView(account.account, tracker, gmailHit.at + 1_000, gmailHit.at + 1_000)).toBe('added');
        // And a label the current rules would not give, as if written by an older version.
        const old = { kind: 'open' as const, via: null, reason: 'The image was loaded, so the message was probably opened.', client: null };
        expect(await store.relabel(account.account, [{ id: mppHit.id, classification: old }])).toBe(1);
        let page = await store.events(account.account, null, 1_000);
        while (page.events.length > 0) page = await store.events(account.account, page.cursor, 1_000);
        cursor = page.cursor;
      } finally {
        await store.close();
      }
    }, 60_000);

    afterAll(async () => {
      await dropDatabase();
    });

    async function eventsAfter(after: string): Promise<Hit[]> {
      const { server, url } = await startServer();
      try {
        const res = await fetch(`${url}/v1/events?after=${encodeURIComponent(after)}`, { headers: { authorization: `Bearer ${account.token}` } });
        expect(res.status).toBe(200);
        return ((await res.json()) as { events: Hit[] }).events;
      } finally {
        await server.close();
      }
    }

    it('with --dry-run says what would change and writes nothing', async () => {
      const run = await reclassify(['--dry-run']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Would change 2 of 2 stored hits (1 trackers).');
      expect(await eventsAfter(cursor)).toEqual([]);
    });

    it('relabels the changed hits and the feed carries each once more, same id, new kind', async () => {
      const run = await reclassify();
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Changed 2 of 2 stored hits (1 trackers).');
      expect(run.stdout).toContain('open → self: 1');
      expect(run.stdout).toContain('open → prefetch: 1');

      const events = await eventsAfter(cursor);
      expect(events.map((e) => e.id).sort()).toEqual([gmailHit.id, mppHit.id].sort());
      const byId = new Map(events.map((e) => [e.id, e]));
      expect(byId.get(gmailHit.id)).toMatchObject({ kind: 'self', via: 'gmail-proxy', at: gmailHit.at, tracker });
      expect(byId.get(mppHit.id)).toMatchObject({ kind: 'prefetch', via: 'apple-mpp', at: mppHit.at, tracker });
    });

    it('changes nothing on a second run', async () => {
      const run = await reclassify();
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Changed 0 of 2 stored hits (1 trackers).');
    });

    it('fails with a clear sentence when the store cannot be opened, or on an unknown argument', async () => {
      const bad = await reclassify([], { OPENPING_DB: '/dev/null/openping.db' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('Could not open the store at OPENPING_DB=/dev/null/openping.db');
      const unknown = await reclassify(['--everything']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('Unknown argument --everything');
    });
  });
}

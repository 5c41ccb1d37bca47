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

/** fastmail.com/policies/bots: Fastmail's image proxy. */
const FASTMAIL = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.117 Safari/537.36 FastmailUA/1.0';
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
    /** Apple MPP through a relay prefix Akamai AS20940 announces, and Fastmail's proxy: labelled by the rules before the published lists. */
    let relayHit: Hit;
    let fastmailHit: Hit;
    let tracker2: string;
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
        // A second message, away from the first one's self-view.
        tracker2 = trackerId();
        const put2 = await fetch(`${url}/v1/trackers/${tracker2}`, { method: 'PUT', headers: auth, body: JSON.stringify({ state: 'sent', sentAt: Date.now() - 3_600_000 }) });
        expect(put2.status).toBe(200);
        expect(await pixel(`${url}/p/${account.account}/${tracker2}.gif`, '172.224.244.8', UA.mpp)).toBe(200);
        expect(await pixel(`${url}/p/${account.account}/${tracker2}.gif`, '103.168.172.10', FASTMAIL)).toBe(200);
        const read2 = (await (await fetch(`${url}/v1/trackers/${tracker2}`, { headers: auth })).json()) as { hits: Hit[] };
        [relayHit, fastmailHit] = read2.hits as [Hit, Hit];
      } finally {
        await server.close();
      }

      const store = await openStore(db);
      try {
        // A rule input changes: the sender's own view, stored without the relabel the HTTP route would do.
        expect(await store.addSelfView(account.account, tracker, gmailHit.at + 1_000, gmailHit.at + 1_000)).toBe('added');
        // And a label the current rules would not give, as if written by an older version.
        const old = { kind: 'open' as const, via: null, reason: 'The image was loaded, so the message was probably opened.', client: null };
        // What the rules said before the published lists (AS20940 is not Apple's; FastmailUA was a Chrome).
        const oldRelay = { kind: 'bot' as const, via: null, reason: 'Identified itself only as "Mozilla/5.0" from Akamai International B.V., outside Apple\'s networks — a script, not a person.', client: null };
        const oldFastmail = { kind: 'open' as const, via: null, reason: 'Opened in Chrome on Linux.', client: { name: 'Chrome', os: 'Linux', device: 'desktop' } };
        expect(await store.relabel(account.account, [
          { id: mppHit.id, classification: old },
          { id: relayHit.id, classification: oldRelay },
          { id: fastmailHit.id, classification: oldFastmail },
        ])).toBe(3);
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
      expect(run.stdout).toContain('Would change 4 of 4 stored hits (2 trackers).');
      expect(await eventsAfter(cursor)).toEqual([]);
    });

    it('relabels the changed hits and the feed carries each once more, same id, new kind', async () => {
      const run = await reclassify();
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Changed 4 of 4 stored hits (2 trackers).');
      expect(run.stdout).toContain('open → self: 1');
      expect(run.stdout).toContain('open → prefetch: 1');
      expect(run.stdout).toContain('bot → prefetch: 1');

      const events = await eventsAfter(cursor);
      expect(events.map((e) => e.id).sort()).toEqual([gmailHit.id, mppHit.id, relayHit.id, fastmailHit.id].sort());
      const byId = new Map(events.map((e) => [e.id, e]));
      expect(byId.get(gmailHit.id)).toMatchObject({ kind: 'self', via: 'gmail-proxy', at: gmailHit.at, tracker });
      expect(byId.get(mppHit.id)).toMatchObject({ kind: 'prefetch', via: 'apple-mpp', at: mppHit.at, tracker });
      // The published lists reach stored hits: only the prefix and AS are stored, and the lists are read at classification.
      expect(byId.get(relayHit.id)).toMatchObject({ kind: 'prefetch', via: 'apple-mpp', at: relayHit.at, tracker: tracker2 });
      expect(byId.get(fastmailHit.id)).toMatchObject({ kind: 'open', via: 'fastmail-proxy', client: { name: 'Fastmail' }, at: fastmailHit.at, tracker: tracker2 });
    });

    it('changes nothing on a second run', async () => {
      const run = await reclassify();
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Changed 0 of 4 stored hits (2 trackers).');
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

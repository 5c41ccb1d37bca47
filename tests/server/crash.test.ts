/**
 * Durability under a crash: `kill -9` the real server (npm run server's entry,
 * its own process) while the pixel is hammered; after a restart, every
 * request that got its 200 before the kill is in the store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../backend/store/sqlite-driver.ts';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'openping-crash-'));
const db = join(dir, 'openping.db');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function launch(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
    env: { ...process.env, OPENPING_PORT: '0', OPENPING_DB: db, OPENPING_FLOOD_CAP: '1000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  return { child, url };
}

it('keeps every answered hit across kill -9 and restart', async () => {
  const first = await launch();
  const account = (await (await fetch(`${first.url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
  const trackers = ['CrashTrackerA012345678', 'CrashTrackerB012345678'];
  for (const t of trackers) {
    const res = await fetch(`${first.url}/v1/trackers/${t}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${account.token}` },
      body: JSON.stringify({ state: 'sent' }),
    });
    expect(res.status).toBe(200);
  }

  const { hostname, port } = new URL(first.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 40 });
  const answered: string[] = [];
  let sent = 0;
  let killed = false;
  const one = (ua: string, tracker: string) =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: hostname, port, path: `/p/${account.account}/${tracker}.gif`, agent, headers: { 'user-agent': ua } },
        (res) => {
          let size = 0;
          res.on('data', (c: Buffer) => (size += c.length));
          res.on('end', () => {
            if (res.statusCode === 200 && size === 43) answered.push(ua);
            resolve();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
  const worker = async (w: number) => {
    while (!killed) await one(`crash-load/${w}-${sent++}`, trackers[sent % 2]!);
  };
  const load = Promise.all(Array.from({ length: 40 }, (_, w) => worker(w)));
  await new Promise((r) => setTimeout(r, 1500));
  const answeredBeforeKill = answered.length;
  first.child.kill('SIGKILL');
  killed = true;
  await load;
  agent.destroy();
  expect(answeredBeforeKill).toBeGreaterThan(100);

  const second = await launch();
  expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
  const reader = new Database(db, { readonly: true });
  const stored = new Set(
    (reader.prepare("SELECT json_extract(signals, '$.userAgent') AS ua FROM hits").all() as Array<{ ua: string }>).map((r) => r.ua),
  );
  reader.close();
  const lost = answered.filter((ua) => !stored.has(ua));
  expect(lost).toEqual([]);
  expect(stored.size).toBeGreaterThanOrEqual(answered.length);
  second.child.kill('SIGTERM');
}, 60_000);

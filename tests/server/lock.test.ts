/**
 * One server per SQLite database, also in containers: the server runs as PID 1
 * in its own PID namespace (`unshare --pid --fork --mount-proc`, as a container
 * runtime starts it), is killed with SIGKILL, and a new one started in a new
 * namespace — PID 1 again — must start on the same database; while one is
 * running, a second one (also PID 1 in its namespace) must refuse, saying why.
 * Needs root for the PID namespace; without it the test fails with a sentence.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'openping-lock-'));
const db = join(dir, 'openping.db');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Launched {
  child: ChildProcess;
  /** The listening URL, or the output and exit code of a server that did not start. */
  started: Promise<{ url: string } | { exitCode: number | null; output: string }>;
  exited: Promise<void>;
}

/** `npm run server`'s entry as PID 1 of a new PID namespace. */
function launchAsPid1(): Launched {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, '--import', 'tsx', 'backend/main.ts'], {
    env: { ...process.env, OPENPING_PORT: '0', OPENPING_DB: db },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const started = new Promise<{ url: string } | { exitCode: number | null; output: string }>((resolve) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (m) resolve({ url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => resolve({ exitCode: code, output }));
  });
  return { child, started, exited };
}

async function url(launched: Launched): Promise<string> {
  const started = await launched.started;
  if ('url' in started) return started.url;
  throw new Error(`The server did not start (exit code ${started.exitCode}): ${started.output}`);
}

/** The host's process id of unshare's forked child (PID 1 inside the namespace). */
function pid1Of(unshare: ChildProcess): number {
  const children = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim().split(/\s+/);
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

it('starts again after the server was killed as PID 1 of its namespace, and refuses a second live server', async () => {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) {
    throw new Error(`This test needs to create PID namespaces (unshare --pid, as root); unshare answered: ${probe.stderr.toString().trim() || probe.error?.message}`);
  }

  const first = launchAsPid1();
  const firstUrl = await url(first);
  const account = (await (await fetch(`${firstUrl}/v1/accounts`, { method: 'POST' })).json()) as { token: string };
  // SIGKILL to the server itself (as an OOM kill or `docker kill` does): nothing of it runs afterwards.
  process.kill(pid1Of(first.child), 'SIGKILL');
  await first.exited;

  const second = launchAsPid1();
  const secondUrl = await url(second);
  expect((await fetch(`${secondUrl}/healthz`)).status).toBe(200);
  // The same database: the account made before the kill is there.
  const res = await fetch(`${secondUrl}/v1/trackers/LockTrackerA0123456789`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${account.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ state: 'sent' }),
  });
  expect(res.status).toBe(200);

  // A third one while the second runs: refused, with a sentence, and the second goes on.
  const third = launchAsPid1();
  const refused = await third.started;
  expect(refused).toMatchObject({ exitCode: 1 });
  expect('output' in refused && refused.output).toMatch(/in use by another OpenPing server.*stop that one first/);
  expect((await fetch(`${secondUrl}/healthz`)).status).toBe(200);

  // unshare ignores SIGTERM while it waits for its child: the server itself is told to stop.
  process.kill(pid1Of(second.child), 'SIGTERM');
  await second.exited;
  expect(second.child.exitCode).toBe(0);
}, 90_000);

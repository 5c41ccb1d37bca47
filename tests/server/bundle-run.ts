/**
 * The production bundle for tests: `npm run build:server` into a folder of its own, and the bundle
 * started with plain `node` (no TypeScript loader, as deploy/openping.service runs it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs the README's build command into `.cache/bundle-<random>` inside the checkout (git-ignored): the
 * bundle resolves its npm packages from the checkout's node_modules as dist/ does, and tests running
 * at the same time do not overwrite each other's build. The caller removes the folder.
 */
export async function buildBundle(): Promise<string> {
  const out = resolve('.cache', `bundle-${randomBytes(6).toString('hex')}`);
  try {
    await promisify(execFile)('npm', ['run', '--silent', 'build:server', '--', '--outdir', out], { timeout: 120_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run build:server failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  return out;
}

export interface BundleServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * `node <out>/server.mjs` with OPENPING_* from `env` (port 0 unless given), resolved once it logs
 * "OpenPing server listening"; an exit before that fails with the server's own output. NODE_OPTIONS is
 * cleared so no loader (tsx, vitest's) comes in through the environment.
 */
export function startBundle(out: string, options: { cwd: string; env: Record<string, string> }): Promise<BundleServer> {
  const child: ChildProcess = spawn(process.execPath, [join(out, 'server.mjs')], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      OPENPING_PORT: '0',
      OPENPING_HOST: '127.0.0.1',
      OPENPING_LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => fail(new Error(`The bundled server did not log "listening" within 60 s:\n${log}`)), 60_000);
    const onData = () => {
      const line = log.split('\n').slice(0, -1).find((l) => l.includes('OpenPing server listening'));
      const url = line && /"url":"([^"]+)"/.exec(line)?.[1];
      if (!url) return;
      cleanup();
      resolveStart({ url, port: Number(new URL(url).port), output: () => log, stop });
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`The bundled server exited (${signal ?? `code ${code}`}) before listening:\n${log}`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(error: Error) {
      cleanup();
      void stop().then(() => reject(error));
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** KEY=value lines of a systemd EnvironmentFile (deploy/openping.env); comments and blank lines skipped. */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.trim();
  }
  return env;
}

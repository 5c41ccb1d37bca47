/**
 * Real parts for end-to-end tests: the real tracking server as a child process
 * on a fresh SQLite file, and real Chromium with the built extension.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { chromiumArgs, findChromium } from './chromium';
import { E2E_EXTENSION_DIR, E2E_PUBLIC_URL, E2E_SERVER_PORT, E2E_SERVER_URL } from './env';

export interface TestServer {
  url: string;
  dir: string;
  stop(): Promise<void>;
  /** Starts it again on the same database (after stop). */
  restart(): Promise<void>;
  output(): string;
}

/**
 * Resolves once `child` logs that it listens (backend/server.ts: "OpenPing server listening") and
 * answers /healthz there. Polling /healthz alone would take another program on the port for our
 * server; an exit before listening (the port taken, say) fails at once with the server's own words.
 */
function waitListening(child: ChildProcess, port: number, output: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`The tracking server did not listen on port ${port} within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const onData = () => {
      // Whole lines only: a chunk may end inside one.
      const line = output().split('\n').slice(0, -1).find((l) => l.includes('OpenPing server listening'));
      if (!line) return;
      child.stdout?.off('data', onData);
      const url = /"url":"([^"]+)"/.exec(line)?.[1] ?? '(no url)';
      if (!url.endsWith(`:${port}`)) {
        finish(new Error(`The tracking server listens at ${url}, not on port ${port} as the e2e build expects.`));
        return;
      }
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => finish(res.ok ? null : new Error(`The tracking server on port ${port} answered /healthz with ${res.status}:\n${output()}`)),
        (error: unknown) => finish(new Error(`The tracking server on port ${port} did not answer /healthz: ${String(error)}`)),
      );
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new Error(
          `The tracking server for the end-to-end tests exited (${signal ?? `code ${code}`}) before listening on port ${port}` +
            `${/EADDRINUSE/.test(output()) ? ': another program is using that port' : ''}:\n${output()}`,
        ),
      );
    function finish(error: Error | null) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** `port` is the one the extension build under test was made for (the Firefox project has its own). */
export async function startServer(env: Record<string, string> = {}, port = E2E_SERVER_PORT): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-e2e-'));
  let child: ChildProcess | null = null;
  let log = '';
  const launch = async () => {
    const started = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
      env: {
        ...process.env,
        OPENPING_PORT: String(port),
        OPENPING_HOST: '127.0.0.1',
        OPENPING_PUBLIC_URL: E2E_PUBLIC_URL,
        OPENPING_DB: join(dir, 'openping.db'),
        OPENPING_TRUST_PROXY: 'loopback',
        // The harness waits for the server's "listening" line, an info message.
        OPENPING_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    // Listeners first, so no output is missed.
    started.stdout.on('data', (d: Buffer) => (log += d.toString()));
    started.stderr.on('data', (d: Buffer) => (log += d.toString()));
    await waitListening(started, port, () => log, 60_000);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  await launch();
  return {
    url: `http://localhost:${port}`,
    dir,
    output: () => log,
    restart: launch,
    async stop() {
      await stop();
    },
  };
}

export function removeServerData(server: TestServer): void {
  rmSync(server.dir, { recursive: true, force: true });
}

export interface ExtensionSession {
  context: BrowserContext;
  extensionId: string;
  worker: Worker;
  close(): Promise<void>;
}

/**
 * Real Chromium, headless, with the e2e build of the extension loaded (or another build, e.g. onboarding.test.ts's).
 * `language`: the browser's language, as a user sets it. Tried on this
 * machine's headless Chromium (Debian, 2026-12): `--lang=de` makes
 * chrome.i18n serve the German messages; LANGUAGE/LANG in the environment do
 * not; getUILanguage() and navigator.language say "en-US" either way.
 */
export async function launchExtension(options: { extensionDir?: string; language?: string } = {}): Promise<ExtensionSession> {
  const profile = mkdtempSync(join(tmpdir(), 'openping-profile-'));
  const { language } = options;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    args: [...chromiumArgs(options.extensionDir ?? E2E_EXTENSION_DIR), ...(language ? [`--lang=${language}`] : [])],
  });
  // Pixels point at the public https host; route it to the local server (see env.ts).
  await context.route(`${E2E_PUBLIC_URL}/**`, async (route) => {
    const url = new URL(route.request().url());
    const response = await route.fetch({ url: `${E2E_SERVER_URL}${url.pathname}${url.search}` });
    await route.fulfill({ response });
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    extensionId,
    worker,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** GET /v1/trackers/{id} as SPEC §3 returns it. */
export interface TrackerView {
  tracker: string;
  state: string;
  sentAt: number | null;
  hits: Array<{ id: string; kind: string; via: string | null; at: number }>;
}

/** The tracker as the server knows it, read with the account's token; `body` is null unless 200. */
export async function fetchTracker(token: string, tracker: string): Promise<{ status: number; body: TrackerView | null }> {
  const res = await fetch(`${E2E_SERVER_URL}/v1/trackers/${tracker}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: res.ok ? ((await res.json()) as TrackerView) : null };
}

/** A record of the extension's IndexedDB (lib/db.ts) by store and key, read in its service worker; null when absent. */
function storedRecord<T>(worker: Worker, store: 'emails' | 'meta', key: string): Promise<T | null> {
  return worker.evaluate(
    ([name, id]) =>
      new Promise<T | null>((resolve, reject) => {
        const open = indexedDB.open('openping');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction(name).objectStore(name).get(id);
          get.onsuccess = () => {
            open.result.close();
            resolve((get.result as T | undefined) ?? null);
          };
          get.onerror = () => reject(get.error);
        };
      }),
    [store, key] as const,
  );
}

/** The extension's local record of a tracked email (lib/db.ts `emails` store), read in its service worker. */
export function localEmail(worker: Worker, tracker: string): Promise<Record<string, unknown> | null> {
  return storedRecord(worker, 'emails', tracker);
}

/** The email's follow-up reminder as the extension keeps it (lib/reminders.ts: `meta`, `reminder:<tracker>`), or null. */
export function storedReminder(worker: Worker, tracker: string): Promise<{ tracker: string; dueAt: number; condition: string } | null> {
  return storedRecord(worker, 'meta', `reminder:${tracker}`);
}

/** Terminates the extension's service worker the way Chrome does when it idles out. */
export async function killWorker(s: ExtensionSession, page: { page: Page }): Promise<void> {
  const cdp = await s.context.newCDPSession(page.page);
  const workerTargets = async () => {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string }> };
    return targetInfos.filter((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${s.extensionId}/`));
  };
  if ((await workerTargets()).length === 0) throw new Error('The extension service worker is not running.');
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  // Playwright does not always report the worker's end; the browser's target list does.
  for (const deadline = Date.now() + 10_000; (await workerTargets()).length > 0; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error('The extension service worker did not stop.');
  }
  await cdp.detach();
}

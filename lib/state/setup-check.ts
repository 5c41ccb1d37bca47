/**
 * The setup checklist's model (issue 15 item 5; STYLE §8): five checks run in
 * order against the configured tracking server, each with its own time limit,
 * so a step never spins forever. Shown by components/onboarding/Checklist.tsx
 * on the setup page and the options page.
 *
 * 1. `server`     — GET /healthz answers as OpenPing (`{"ok":true,…}`);
 * 2. `account`    — the account exists, or is created now;
 * 3. `pixel-url`  — its pixel URL (`pixelBase`) is public and https: the rule of
 *                   the server's public-url-local/-http warnings (lib/setup.ts);
 * 4. `warnings`   — /healthz gives no warnings;
 * 5. `test-pixel` — a pixel loaded by this page reaches the server and comes
 *                   back: the background registers a throwaway tracker as sent
 *                   with a self-view at this moment, the page fetches its pixel,
 *                   the background reads the tracker's hits (GET /v1/trackers,
 *                   the feed's own records) and deletes the tracker.
 */
import { signal, type Signal } from '@preact/signals';
import type { HealthWarning } from '../api';
import { HIT_KINDS, type HitKind } from '../../contract';
import { t } from '../i18n';
import { send, type PopupToBackgroundResponse } from '../messages';
import { loadSettings } from '../settings';
import { healthWarningText, pixelBaseProblem } from '../setup';
import { kindLabel } from './format';

export type CheckId = 'server' | 'account' | 'pixel-url' | 'warnings' | 'test-pixel';
/** `waiting`: not run yet; `skipped`: an earlier check it needs failed. */
export type CheckResult = 'waiting' | 'running' | 'pass' | 'fail' | 'timeout' | 'skipped';

export interface Check {
  id: CheckId;
  result: CheckResult;
  /** What was found, in plain words; null while waiting. */
  detail: string | null;
  /** For fail/timeout: what to do next, in plain words (the page links the README's Deploy section beside it). */
  next: string | null;
  /** Machine-readable codes behind a failure (e.g. `public-url-local`), for tests and styling. */
  codes: string[];
}

export const CHECK_IDS: readonly CheckId[] = ['server', 'account', 'pixel-url', 'warnings', 'test-pixel'];

/** Time limits per check. Generous: a cold server or a slow network is not a failure; a dead one is. */
export const CHECK_TIMEOUTS: Record<CheckId, number> = {
  server: 15_000,
  account: 20_000,
  'pixel-url': 1_000,
  warnings: 1_000,
  'test-pixel': 30_000,
};

// Words of the checklist, from the browser's i18n (locales/*.yml `check.*`, STYLE §14); called when shown, so they follow the browser's language.
const LABEL_KEYS = {
  server: 'check.labelServer',
  account: 'check.labelAccount',
  'pixel-url': 'check.labelPixelUrl',
  warnings: 'check.labelWarnings',
  'test-pixel': 'check.labelTestPixel',
} as const satisfies Record<CheckId, string>;

export const CHECK_TEXT = {
  label: (id: CheckId) => t(LABEL_KEYS[id]),
  timeout: (seconds: number) => t('check.timeout', { n: String(seconds) }),
  skipped: () => t('check.skipped'),
  serverOk: (server: string) => t('check.serverOk', { server }),
  serverNext: (server: string) => t('check.serverNext', { server }),
  serverTimeoutNext: (server: string) => t('check.serverTimeoutNext', { server }),
  accountOk: (fingerprint: string) => t('check.accountOk', { fingerprint }),
  accountNext: () => t('check.accountNext'),
  pixelOk: (host: string) => t('check.pixelOk', { host }),
  pixelNext: () => t('check.pixelNext'),
  pixelAllowed: () => t('check.pixelAllowed'),
  warningsOk: () => t('check.warningsOk'),
  warningsNext: () => t('check.warningsNext'),
  probeOk: (kind: string) =>
    kind === 'self'
      ? t('check.probeSelf')
      : t('check.probeKind', { kind: (HIT_KINDS as readonly string[]).includes(kind) ? kindLabel(kind as HitKind) : kind }),
  probeLost: () => t('check.probeLost'),
  probeNext: () => t('check.probeNext'),
};

function fresh(id: CheckId): Check {
  return { id, result: 'waiting', detail: null, next: null, codes: [] };
}

type Outcome = Pick<Check, 'result' | 'detail' | 'next'> & { codes?: string[] };

class Timeout extends Error {}

/** `job` or a Timeout after `ms`; the job's own result is then ignored. */
function withLimit<T>(job: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    job,
    new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Timeout()), ms))),
  ]).finally(() => clearTimeout(timer));
}

export interface SetupCheckModel {
  checks: Signal<Check[]>;
  running: Signal<boolean>;
  /** The server checked last. */
  server: Signal<string | null>;
  /** Runs every check once, in order; a second call while running waits for the first. */
  run(): Promise<void>;
}

/** How the model reaches the background and the network; tests pass their own. */
export interface SetupCheckDeps {
  server(): Promise<string>;
  allowLocalServer(): Promise<boolean>;
  testConnection(server: string): Promise<PopupToBackgroundResponse['testConnection']>;
  setupAccount(): Promise<PopupToBackgroundResponse['setupAccount']>;
  probePixel(): Promise<PopupToBackgroundResponse['probePixel']>;
  probeResult(tracker: string, waitMs: number): Promise<PopupToBackgroundResponse['probeResult']>;
  /** Loads the pixel as a mail client would; resolves once the request is answered (opaque: no CORS on the pixel). */
  loadPixel(url: string): Promise<void>;
  timeouts: Record<CheckId, number>;
}

export const browserDeps: SetupCheckDeps = {
  server: async () => (await loadSettings()).server,
  allowLocalServer: async () => (await loadSettings()).allowLocalServer,
  testConnection: (server) => send({ type: 'testConnection', server }),
  setupAccount: () => send({ type: 'setupAccount' }),
  probePixel: () => send({ type: 'probePixel' }),
  probeResult: (tracker, waitMs) => send({ type: 'probeResult', tracker, waitMs }),
  async loadPixel(url) {
    // fetch, not an <img>: the extension's own self-open rule (lib/dnr.ts) blocks its pixels as images.
    await fetch(url, { mode: 'no-cors', cache: 'no-store', credentials: 'omit' });
  },
  timeouts: CHECK_TIMEOUTS,
};

export function createSetupCheckModel(deps: SetupCheckDeps = browserDeps): SetupCheckModel {
  const checks = signal<Check[]>(CHECK_IDS.map(fresh));
  const running = signal(false);
  const server = signal<string | null>(null);
  let current: Promise<void> | null = null;

  const set = (id: CheckId, outcome: Outcome) => {
    checks.value = checks.value.map((c) => (c.id === id ? { ...c, ...outcome, codes: outcome.codes ?? [] } : c));
  };

  /** Runs one check under its time limit; resolves with whether it passed. */
  async function step(id: CheckId, job: () => Promise<Outcome>, timeoutNext: string): Promise<boolean> {
    set(id, { result: 'running', detail: null, next: null });
    const ms = deps.timeouts[id];
    let outcome: Outcome;
    try {
      outcome = await withLimit(job(), ms);
    } catch (error) {
      outcome =
        error instanceof Timeout
          ? { result: 'timeout', detail: CHECK_TEXT.timeout(Math.round(ms / 1000)), next: timeoutNext }
          : { result: 'fail', detail: error instanceof Error ? error.message : String(error), next: timeoutNext };
    }
    set(id, outcome);
    return outcome.result === 'pass';
  }

  const skip = (id: CheckId) => set(id, { result: 'skipped', detail: CHECK_TEXT.skipped(), next: null });

  async function runAll(): Promise<void> {
    checks.value = CHECK_IDS.map(fresh);
    const url = await deps.server();
    server.value = url;
    let warnings: HealthWarning[] = [];

    const serverOk = await step(
      'server',
      async () => {
        const res = await deps.testConnection(url);
        if (!res.ok) return { result: 'fail', detail: res.error ?? t('check.serverNoAnswer'), next: CHECK_TEXT.serverNext(url) };
        warnings = res.warnings;
        return { result: 'pass', detail: CHECK_TEXT.serverOk(url), next: null };
      },
      CHECK_TEXT.serverTimeoutNext(url),
    );
    if (!serverOk) {
      for (const id of CHECK_IDS.slice(1)) skip(id);
      return;
    }

    let pixelBase: string | null = null;
    const accountOk = await step(
      'account',
      async () => {
        const res = await deps.setupAccount();
        if (!res.ok || !res.pixelBase) {
          return { result: 'fail', detail: res.error ?? t('check.accountFailed'), next: CHECK_TEXT.accountNext() };
        }
        pixelBase = res.pixelBase;
        return { result: 'pass', detail: CHECK_TEXT.accountOk(res.fingerprint ?? '?'), next: null };
      },
      CHECK_TEXT.accountNext(),
    );

    if (accountOk && pixelBase !== null) {
      const base: string = pixelBase;
      const allowed = await deps.allowLocalServer();
      await step(
        'pixel-url',
        async () => {
          const problem = pixelBaseProblem(base, false);
          if (!problem) return { result: 'pass', detail: CHECK_TEXT.pixelOk(new URL(base).host), next: null };
          const detail = allowed ? `${problem.message} ${CHECK_TEXT.pixelAllowed()}` : problem.message;
          return { result: 'fail', detail, next: CHECK_TEXT.pixelNext(), codes: [problem.code] };
        },
        CHECK_TEXT.pixelNext(),
      );
    } else {
      skip('pixel-url');
    }

    await step(
      'warnings',
      async () =>
        warnings.length === 0
          ? { result: 'pass', detail: CHECK_TEXT.warningsOk(), next: null }
          : {
              result: 'fail',
              detail: warnings.map(healthWarningText).join('\n'),
              next: CHECK_TEXT.warningsNext(),
              codes: warnings.map((w) => w.code),
            },
      CHECK_TEXT.warningsNext(),
    );

    if (!accountOk) {
      skip('test-pixel');
      return;
    }
    const probeMs = deps.timeouts['test-pixel'];
    await step(
      'test-pixel',
      async () => {
        const probe = await deps.probePixel();
        if (!probe.ok || !probe.tracker || !probe.url) {
          return { result: 'fail', detail: probe.error ?? t('check.probeNotRegistered'), next: CHECK_TEXT.probeNext() };
        }
        // A pixel that cannot load is what this check finds out, not an error of the check itself.
        const loaded = await deps.loadPixel(probe.url).then(
          () => null,
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
        // The background gives up a little before this step's own limit, so its answer (and its delete) arrive.
        const res = await deps.probeResult(probe.tracker, loaded === null ? Math.max(probeMs - 5_000, 1_000) : 0);
        if (res.ok && res.kind) return { result: 'pass', detail: CHECK_TEXT.probeOk(res.kind), next: null };
        const why = loaded !== null ? t('check.probeNotLoaded', { error: loaded }) : (res.error ?? CHECK_TEXT.probeLost());
        return { result: 'fail', detail: why, next: CHECK_TEXT.probeNext() };
      },
      CHECK_TEXT.probeNext(),
    );
  }

  return {
    checks,
    running,
    server,
    run() {
      current ??= (async () => {
        running.value = true;
        try {
          await runAll();
        } finally {
          running.value = false;
          current = null;
        }
      })();
      return current;
    },
  };
}

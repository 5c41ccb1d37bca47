/**
 * `GET /healthz` (SPEC §3): `{"ok", "warnings": [{"code", "message"}…]}`.
 * Every warning comes from one check in HEALTH_CHECKS below; a new warning
 * code is a new check there. A check that finds the server unable to do its
 * job (`failing`) makes the answer `ok: false` with status 503; the others
 * only warn (status 200), e.g. a configuration that recipients cannot reach.
 */
import type { App } from './http.ts';

/** The warning codes of SPEC §3 this server gives. */
export type HealthWarningCode = 'store-failing';

export interface HealthWarning {
  code: HealthWarningCode;
  /** One sentence for the operator. */
  message: string;
}

interface Finding extends HealthWarning {
  /** True: the server cannot do its job now (503, `ok: false`); false: it works, but see the message. */
  failing: boolean;
}

type HealthCheck = (app: App) => Finding | null | Promise<Finding | null>;

/** The store cannot store (a full disk, I/O errors: Store.failing); pixels still answer, but hits are not kept. */
const storeFailing: HealthCheck = async ({ store }) => {
  await store.ping();
  const reason = store.failing?.() ?? null;
  return reason === null
    ? null
    : {
        code: 'store-failing',
        failing: true,
        message: `The store is failing: ${reason}. Pixels are still answered; a hit that cannot be made durable is not stored (counted as outcome "error").`,
      };
};

const HEALTH_CHECKS: readonly HealthCheck[] = [storeFailing];

export async function health(app: App): Promise<{ status: number; body: { ok: boolean; warnings: HealthWarning[] } }> {
  const findings = (await Promise.all(HEALTH_CHECKS.map((check) => check(app)))).filter((f): f is Finding => f !== null);
  const ok = !findings.some((f) => f.failing);
  return { status: ok ? 200 : 503, body: { ok, warnings: findings.map(({ code, message }) => ({ code, message })) } };
}

/**
 * `GET /healthz` (SPEC §3): `{"ok", "warnings": [{"code", "message"}…]}`.
 * The server gives these codes (backend/health.ts); the options page shows
 * them in the user's language and, for a code it does not know, the server's
 * sentence.
 */
export const HEALTH_WARNING_CODES = ['public-url-local', 'public-url-http', 'forwarded-untrusted', 'store-failing'] as const;
export type HealthWarningCode = (typeof HEALTH_WARNING_CODES)[number];

export interface HealthWarning<Code extends string = HealthWarningCode> {
  code: Code;
  /** One sentence for the operator, saying what to do. */
  message: string;
}

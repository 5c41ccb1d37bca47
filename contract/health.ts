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
  /** One sentence for the operator, saying what to do (English: the server's log and /healthz read it). */
  message: string;
  /**
   * The values behind the sentence, for a client to word it in its user's language (issue 17):
   * `public-url-local` gives `url`, `host` and `why` (backend/public-url.ts `LocalWhy`),
   * `public-url-http` gives `url` and `host`. Absent from other codes and from older servers.
   */
  params?: Readonly<Record<string, string>>;
}

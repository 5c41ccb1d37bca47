/**
 * A failed call to the tracking server in the user's language (STYLE §14): the
 * background words an ApiError here before the popup, options or setup page
 * shows it. The server's codes (backend/http.ts `sendError`) that a user can
 * act on have words of their own; another code falls back to the server's own
 * sentence (English), as an unknown reason code does (lib/i18n.ts reasonText).
 */
import { ApiError } from './api';
import { t } from './i18n';
import { PairingCodeError } from './pairing-protocol';

/** The server's error codes (backend/http.ts, backend/sync-routes.ts) worded here. */
const BY_CODE: ReadonlyMap<string, () => string> = new Map([
  ['unauthorized', () => t('api.unauthorized')],
  ['rate_limited', () => t('api.rateLimited')],
  ['store_failing', () => t('api.storeFailing')],
  ['behind', () => t('api.busy')],
  ['internal', () => t('api.internal')],
  ['pairing_gone', () => t('api.pairingGone')],
  ['forbidden_origin', () => t('api.forbiddenOrigin')],
]);

export function apiErrorText(error: ApiError): string {
  switch (error.problem) {
    case 'unreachable':
      return t('api.unreachable', { server: error.params.server ?? '' });
    case 'not-json':
      return t('api.notJson');
    case 'incomplete':
      return t('api.incomplete');
    case 'endless':
      return t('api.endless');
    case 'not-openping':
      return t('api.notOpenping');
    case 'scheme':
      return t('api.scheme', { scheme: error.params.scheme ?? '' });
    case 'answered': {
      const known = error.code === null ? undefined : BY_CODE.get(error.code);
      if (known) return known();
      if (error.failure === 'unauthorized') return t('api.unauthorized');
      const status = String(error.status ?? '');
      const says = error.params.says;
      return says ? t('api.answeredSays', { status, message: says }) : t('api.answered', { status });
    }
  }
}

/** Any error a background call met, for the user: a call to the server, a mistyped pairing code, or what it says itself. */
export function errorWords(error: unknown): string {
  if (error instanceof ApiError) return apiErrorText(error);
  if (error instanceof PairingCodeError) return t('errors.pairingCode');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether this browser's setup can track: the account's pixel URL must be one
 * recipients can fetch (public and https, the rule of the server's /healthz
 * warnings, shared through backend/public-url.ts) unless the user allowed a
 * local server for testing (SPEC §6). Pure; used by the compose switch, the
 * popup and the setup checklist.
 */
import { publicUrlProblems, type LocalWhy } from '../backend/public-url';
// Sentences in locales/*.yml (`setup.*`); a local host's reason travels as a code (backend/public-url.ts) and is worded here.
import { healthText, t } from './i18n';
import type { HealthWarning } from '../contract';

export type SetupProblemCode = 'no-account' | 'public-url-local' | 'public-url-http' | 'bad-url';

export interface SetupProblem {
  code: SetupProblemCode;
  /** One sentence for the user. */
  message: string;
}

/** Why a host is local, in the user's language (the server's English `what` stays in its log and /healthz). */
const LOCAL_WHY: Record<LocalWhy, () => string> = {
  unspecified: () => t('setup.whyUnspecified'),
  private: () => t('setup.whyPrivate'),
  cgnat: () => t('setup.whyCgnat'),
  loopback: () => t('setup.whyLoopback'),
  'link-local': () => t('setup.whyLinkLocal'),
  'unique-local': () => t('setup.whyUniqueLocal'),
  'site-local': () => t('setup.whySiteLocal'),
  localhost: () => t('setup.whyLocalhost'),
  mdns: () => t('setup.whyMdns'),
  internal: () => t('setup.whyInternal'),
  lan: () => t('setup.whyLan'),
  home: () => t('setup.whyHome'),
  dotless: () => t('setup.whyDotless'),
};

function isLocalWhy(code: string): code is LocalWhy {
  return Object.hasOwn(LOCAL_WHY, code);
}

/**
 * A /healthz warning in the user's language: its meaning, then what to change. The public-URL
 * warnings are worded here from their code and parameters (the server's English sentence stays
 * in its log and /healthz); any other warning, or one without parameters (an older server), is
 * the meaning followed by the server's own sentence (lib/i18n.ts healthText).
 */
export function healthWarningText(warning: HealthWarning<string>): string {
  const { url, host, why } = warning.params ?? {};
  let sentence: string | null = null;
  if (warning.code === 'public-url-local' && url && host && why && isLocalWhy(why)) {
    sentence = t('health.publicUrlLocalSays', { url, host, why: LOCAL_WHY[why]() });
  } else if (warning.code === 'public-url-http' && url) {
    sentence = t('health.publicUrlHttpSays', { url });
  }
  return healthText(sentence === null ? warning : { code: warning.code, message: sentence });
}

/** Why no pixel may go out under `pixelBase` (null: none; tracking can work). */
export function pixelBaseProblem(pixelBase: string | null, allowLocalServer: boolean): SetupProblem | null {
  if (pixelBase === null) return { code: 'no-account', message: t('setup.noAccount') };
  let problems: ReturnType<typeof publicUrlProblems>;
  let host: string;
  try {
    problems = publicUrlProblems(pixelBase);
    host = new URL(pixelBase).host;
  } catch {
    return { code: 'bad-url', message: t('setup.badUrl', { url: pixelBase }) };
  }
  if (allowLocalServer) return null;
  const [first] = problems;
  if (!first) return null;
  return first.code === 'public-url-local'
    ? { code: first.code, message: t('setup.local', { host, why: first.whyCode ? LOCAL_WHY[first.whyCode]() : t('setup.localWhy') }) }
    : { code: first.code, message: t('setup.http', { host }) };
}

/**
 * Why `value` cannot be a tracking server's address, in one sentence; null
 * when it can (an http(s) URL without credentials, query or fragment — what
 * lib/api.ts normalizeServer keeps).
 */
export function serverUrlError(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return t('setup.serverEmpty');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return t('setup.serverNotUrl', { value: trimmed });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return t('setup.serverScheme', { scheme: url.protocol });
  if (url.hostname === '') return t('setup.serverNotUrl', { value: trimmed });
  if (url.username || url.password || url.search || url.hash) return t('setup.serverParts');
  return null;
}

/**
 * A short fingerprint of the account id, for telling accounts apart on screen
 * without showing the id itself: the first 32 bits of its SHA-256, as hex.
 */
export async function accountFingerprint(account: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(account)));
  const hex = [...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

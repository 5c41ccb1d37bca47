/**
 * Whether this browser's setup can track: the account's pixel URL must be one
 * recipients can fetch (public and https, the rule of the server's /healthz
 * warnings, shared through backend/public-url.ts) unless the user allowed a
 * local server for testing (SPEC §6). Pure; used by the compose switch, the
 * popup and the setup checklist.
 */
import { publicUrlProblems } from '../backend/public-url';

export type SetupProblemCode = 'no-account' | 'public-url-local' | 'public-url-http' | 'bad-url';

export interface SetupProblem {
  code: SetupProblemCode;
  /** One sentence for the user. */
  message: string;
}

const TEXT = {
  noAccount: 'OpenPing has no account on its tracking server yet.',
  badUrl: (url: string) => `The server gave a pixel URL that is not a URL (${url}).`,
  local: (host: string, why: string) =>
    `The pixel URL points at ${host}, ${why}, so recipients’ mail clients cannot load it.`,
  http: (host: string) => `The pixel URL on ${host} is not https, and mail clients block or flag plain-http images.`,
  serverEmpty: 'Enter the address of your tracking server, such as https://track.example.com.',
  serverNotUrl: (value: string) => `The server address “${value}” is not a web address; enter one such as https://track.example.com.`,
  serverScheme: (scheme: string) =>
    `The server address must start with https:// (or http:// for a test server), not ${scheme}.`,
  serverParts: 'The server address may not hold a user name, password, query or fragment.',
} as const;

/** Why no pixel may go out under `pixelBase` (null: none; tracking can work). */
export function pixelBaseProblem(pixelBase: string | null, allowLocalServer: boolean): SetupProblem | null {
  if (pixelBase === null) return { code: 'no-account', message: TEXT.noAccount };
  let problems: ReturnType<typeof publicUrlProblems>;
  let host: string;
  try {
    problems = publicUrlProblems(pixelBase);
    host = new URL(pixelBase).host;
  } catch {
    return { code: 'bad-url', message: TEXT.badUrl(pixelBase) };
  }
  if (allowLocalServer) return null;
  const [first] = problems;
  if (!first) return null;
  return first.code === 'public-url-local'
    ? { code: first.code, message: TEXT.local(host, first.why ?? 'a local address') }
    : { code: first.code, message: TEXT.http(host) };
}

/**
 * Why `value` cannot be a tracking server's address, in one sentence; null
 * when it can (an http(s) URL without credentials, query or fragment — what
 * lib/api.ts normalizeServer keeps).
 */
export function serverUrlError(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return TEXT.serverEmpty;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return TEXT.serverNotUrl(trimmed);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return TEXT.serverScheme(url.protocol);
  if (url.hostname === '') return TEXT.serverNotUrl(trimmed);
  if (url.username || url.password || url.search || url.hash) return TEXT.serverParts;
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

/**
 * Reason codes (SPEC §3 `reasonCode`, `reasonParams`): every sentence the
 * classifier (backend/classify) gives a hit, named stably, with its English
 * wording as a template. `{name}` marks a parameter; a parameter listed in
 * SECONDS_PARAMS is a whole number of seconds, worded "less than a second",
 * "1 second", "12 seconds" in English.
 *
 * The server words `reason` from these templates (formatReason) and names the
 * code of a stored sentence from them too (parseReason): hits stored before the
 * codes existed carry the same sentences, so their code is found when they are
 * read, without rewriting any row (backend/store). A template may change only
 * together with a new code, or old sentences lose theirs (they then travel with
 * reasonCode null and clients show the sentence).
 *
 * The extension words a code in the user's language from its locales
 * (locales/*.yml, `reason.<code with _ for ->`); tests/unit/i18n.test.ts checks
 * that English there says exactly what the template says.
 *
 * Order matters for parseReason: a variant whose template is a special case of
 * another's (the `-unknown` ones name no network) comes first.
 */
export const REASONS = {
  'presend-draft': 'Loaded while the message was still a draft — not counted.',
  presend: 'Loaded before the message was sent — not counted.',
  duplicate: 'A repeat of the fetch {seconds} earlier from the same place — counted once.',
  head: 'A link checker only asked whether the image exists; nothing was shown to anyone.',
  'no-user-agent': 'Fetched by a program that did not say what it is — mail apps and browsers always do.',
  'from-header': 'Fetched by a robot that left a contact address, as crawlers do — not a person.',
  'says-bot': 'Fetched by a crawler or automated tool that says so in its name — not a person.',
  tool: 'Fetched by {name}, an automated tool — not a person.',
  'scanner-user-agent': 'Fetched by {name}, an e-mail security check — no person opened it.',
  'apple-mpp': 'Apple Mail Privacy Protection downloaded this when the message arrived; Apple hides whether it was opened.',
  'gmail-prefetch': 'Gmail fetched this in the background when the message arrived, before anyone opened it.',
  'forged-rented-unknown': 'Claimed to be {claimed} but came from a rented server at a hosting provider — an imitation, not a person.',
  'forged-rented': 'Claimed to be {claimed} but came from a rented server at {org} — an imitation, not a person.',
  'forged-unknown': 'Claimed to be {claimed} but came from an unknown network, not {owner}\'s own network — an imitation, not a person.',
  forged: 'Claimed to be {claimed} but came from {org}, not {owner}\'s own network — an imitation, not a person.',
  'bare-mozilla-unknown': 'Identified itself only as "Mozilla/5.0" from an unknown network, outside Apple\'s networks — a script, not a person.',
  'bare-mozilla': 'Identified itself only as "Mozilla/5.0" from {org}, outside Apple\'s networks — a script, not a person.',
  self: 'Your own view of this message — not counted.',
  'security-network-unknown': 'A security vendor\'s e-mail security gateway checked this message — no person opened it.',
  'security-network': '{vendor}\'s e-mail security gateway checked this message — no person opened it.',
  'bare-mozilla-security': 'Identified itself only as "Mozilla/5.0" from {vendor}\'s e-mail servers, which check messages as they arrive — not Apple, and not a person.',
  'proton-prefetch': 'Proton Mail loaded this through its privacy proxy when the message arrived, before anyone opened it (Proton pre-loads remote images).',
  'hosting-unknown': 'Fetched from a data centre (a hosting provider), where scanners and scripts run — not a person reading mail.',
  hosting: 'Fetched from a data centre ({org}), where scanners and scripts run — not a person reading mail.',
  'too-fast': 'Fetched {seconds} after sending — too soon for anyone to have opened it, so it was an automatic check.',
  'gmail-open': 'Opened in Gmail: Google\'s image proxy fetched the image when the message was opened.',
  'yahoo-open': 'Opened in Yahoo Mail or AOL Mail: their image proxy fetched the image when the message was opened.',
  'proxy-open': 'Opened in {name}: its image proxy fetched the image when the message was opened.',
  'client-open-os': 'Opened in {client} on {os}.',
  'client-open': 'Opened in {client}.',
  'unknown-open': 'The image was loaded by a program that looks like a mail app or browser, so it counts as an open.',
} as const;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];
export type ReasonParams = Record<string, string>;

import { SECONDS_PARAMS } from './reason-params.ts';

export { SECONDS_PARAMS };

const PARAM_RE = /\{([A-Za-z]+)\}/g;

/** The parameter names a code's template uses, in order. */
export function reasonParamNames(code: ReasonCode): string[] {
  return Array.from(REASONS[code].matchAll(PARAM_RE), (m) => m[1]!);
}

function englishSeconds(value: string): string {
  const s = Number(value);
  return s < 1 ? 'less than a second' : s === 1 ? '1 second' : `${s} seconds`;
}

/** The English sentence of a code (the Hit's `reason`). Throws when a parameter the template names is missing. */
export function formatReason(code: ReasonCode, params: ReasonParams = {}): string {
  return REASONS[code].replace(PARAM_RE, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`reason ${code} needs the parameter ${name}`);
    return SECONDS_PARAMS.has(name) ? englishSeconds(value) : value;
  });
}

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SECONDS_RE = '(less than a second|1 second|[0-9]+ seconds)';

/** Each template as a whole-sentence pattern, a capture per parameter; built on first use. */
let patterns: Array<{ code: ReasonCode; names: string[]; re: RegExp }> | null = null;
const buildPatterns = () => REASON_CODES.map((code) => {
  const names = reasonParamNames(code);
  const source = REASONS[code].split(PARAM_RE).map((part, i) =>
    i % 2 === 0 ? escapeRe(part) : SECONDS_PARAMS.has(part) ? SECONDS_RE : '(.+?)').join('');
  return { code, names, re: new RegExp(`^${source}$`, 's') };
});

function secondsOf(phrase: string): string {
  return phrase === 'less than a second' ? '0' : String(parseInt(phrase, 10));
}

const parsed = new Map<string, { reasonCode: ReasonCode; reasonParams: ReasonParams } | null>();
const PARSED_LIMIT = 4096;

/**
 * The code and parameters of a sentence formatReason made, or null for one it
 * did not (a wording since retired). Cached: stored reasons repeat from a small set.
 */
export function parseReason(sentence: string): { reasonCode: ReasonCode; reasonParams: ReasonParams } | null {
  const known = parsed.get(sentence);
  if (known !== undefined) return known && { reasonCode: known.reasonCode, reasonParams: { ...known.reasonParams } };
  let found: { reasonCode: ReasonCode; reasonParams: ReasonParams } | null = null;
  patterns ??= buildPatterns();
  for (const { code, names, re } of patterns) {
    const m = re.exec(sentence);
    if (!m) continue;
    const reasonParams: ReasonParams = {};
    names.forEach((name, i) => { reasonParams[name] = SECONDS_PARAMS.has(name) ? secondsOf(m[i + 1]!) : m[i + 1]!; });
    found = { reasonCode: code, reasonParams };
    break;
  }
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(sentence, found);
  return found && { reasonCode: found.reasonCode, reasonParams: { ...found.reasonParams } };
}

/** A Hit's reasonCode and reasonParams for its stored sentence: those parseReason finds, or null and {}. */
export function codedReason(sentence: string): { reasonCode: ReasonCode | null; reasonParams: ReasonParams } {
  return parseReason(sentence) ?? { reasonCode: null, reasonParams: {} };
}

/**
 * Words through one door (STYLE §14): every string a user sees comes from the
 * browser's i18n (`browser.i18n.getMessage`, via @wxt-dev/i18n), in the
 * browser's language, English where a locale has no word. Components never
 * hold English.
 *
 * How to add a key:
 * 1. Add it to locales/en.yml, in the group it belongs to (`popup:`, `options:`,
 *    `toggle:` …; add a group for a new screen). Write `{name}` for a value
 *    filled in at run time, `a | b | c` with `$1` for a count (0 | 1 | many).
 * 2. Add the same key, translated, to locales/de.yml, fr.yml and es.yml —
 *    tests/unit/i18n.test.ts fails when a locale lacks a key English has, or
 *    has a `{name}` English does not.
 * 3. `npx wxt prepare` (or any build) regenerates the key types, then:
 *    `t('group.key')`, `t('group.key', { name: value })`, `t('group.key', count)`.
 *
 * In unit tests fakeBrowser has no i18n; tests/unit/i18n-setup.ts gives it the
 * English messages, so tests read English as a user would.
 *
 * Content scripts pay nothing for the words: the messages live in
 * _locales/<lang>/messages.json, which the browser reads, not in the bundle.
 */
import { browser } from 'wxt/browser';
import { i18n } from '#i18n';
import { SECONDS_PARAMS } from '../contract/reason-params';

export const t = i18n.t;

/** A message by its _locales name (dots become `_`), or null when this build has none of that name. */
function message(name: string): string | null {
  // Names built at run time (a reason code) are not in the generated key types; an unknown one answers "".
  const text = (browser.i18n.getMessage as (name: string) => string)(name.replace(/[.-]/g, '_'));
  return text ? text : null;
}

function fill(text: string, params: Record<string, string>): string {
  return text.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => params[name] ?? whole);
}

/** "less than a second" / "1 second" / "12 seconds", in the user's language. */
export function secondsText(seconds: number): string {
  return t('duration.seconds', Math.max(0, Math.floor(seconds)));
}

/**
 * A hit's reason in the user's language, from its reasonCode and reasonParams
 * (SPEC §3); the server's English sentence for a code this build does not
 * know, a parameter it lacks, or a hit without a code (an older server).
 */
export function reasonText(hit: { reason: string; reasonCode?: string | null; reasonParams?: Record<string, string> | null }): string {
  const code = hit.reasonCode;
  if (!code || !/^[a-z0-9-]+$/.test(code)) return hit.reason;
  const template = message(`reason.${code}`);
  if (template === null) return hit.reason;
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(hit.reasonParams ?? {})) {
    params[name] = SECONDS_PARAMS.has(name) && /^[0-9]+$/.test(value) ? secondsText(Number(value)) : value;
  }
  const text = fill(template, params);
  return /\{[A-Za-z0-9_]+\}/.test(text) ? hit.reason : text;
}

/**
 * A /healthz warning: what it means in the user's language, then the server's
 * own sentence, which names the setting to change with its value (for the
 * operator, in English). The sentence alone for a code this build does not know.
 */
export function healthText(warning: { code: string; message: string }): string {
  const headline = /^[a-z0-9-]+$/.test(warning.code) ? message(`health.${warning.code}`) : null;
  return headline ? `${headline} ${warning.message}` : warning.message;
}

/** The words for a via the locales name (a provider's proxy), or null (a vendor's name is its own). */
export function viaWords(via: string): string | null {
  return /^[a-z0-9-]+$/.test(via) ? message(`via.${via}`) : null;
}

/** English ordinals for `{nth}` ("2nd", "3rd", "11th"); other locales write `{n}` with their own mark. */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  const suffixes: Record<number, string> = { 1: 'st', 2: 'nd', 3: 'rd' };
  return `${n}${suffixes[n % 10] ?? 'th'}`;
}

/**
 * The language of the words shown (`en`, `de` …), for Intl's dates and numbers
 * to match them: navigator.language can differ (see localizePage).
 */
export function uiLocale(): string {
  return t('ext.lang');
}

/**
 * An extension page in the browser's language: `<html lang>` (screen readers,
 * hyphenation) and its title. The language is that of the words the browser
 * picked (`ext.lang`), not getUILanguage(): headless Chromium on Linux answered
 * "en-US" there while it served the German messages (tests/e2e/i18n.test.ts).
 */
export function localizePage(title: string): void {
  document.documentElement.lang = uiLocale();
  document.title = title;
}

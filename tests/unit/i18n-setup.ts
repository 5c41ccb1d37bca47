/**
 * fakeBrowser has no i18n (it throws "not implemented"): give it the English
 * messages of locales/en.yml, built as the extension build builds them
 * (@wxt-dev/i18n/build), and Chrome's getMessage rules for `$1`…`$9` and `$$`
 * (developer.chrome.com/docs/extensions/reference/api/i18n#method-getMessage:
 * an unknown name answers ""). Unit tests then read English, as a user would.
 */
import { resolve } from 'node:path';
import { generateChromeMessages, parseMessagesFile } from '@wxt-dev/i18n/build';
import { fakeBrowser } from 'wxt/testing';

type Messages = Record<string, { message: string }>;

/** A locale's messages as the build writes them to _locales/<locale>/messages.json. */
async function messagesOf(locale: string): Promise<Messages> {
  // The project root (vitest's cwd): under happy-dom import.meta.url is no file: URL.
  return generateChromeMessages(await parseMessagesFile(resolve(process.cwd(), `locales/${locale}.yml`))) as Messages;
}

let messages = await messagesOf('en');
let language = 'en';

/** Makes the fake browser speak another locale (as a browser set to that language); `useLocale('en')` to go back. */
export async function useLocale(locale: string): Promise<void> {
  messages = await messagesOf(locale);
  language = locale;
}

export function getMessage(name: string, substitutions?: string | string[]): string {
  const entry = messages[name];
  if (!entry) return '';
  const subs = substitutions === undefined ? [] : Array.isArray(substitutions) ? substitutions : [substitutions];
  return entry.message.replace(/\$(\$|[1-9])/g, (_, which: string) => (which === '$' ? '$' : (subs[Number(which) - 1] ?? '')));
}

Object.assign(fakeBrowser.i18n, {
  getMessage,
  getUILanguage: () => language,
  getAcceptLanguages: async () => [language],
});

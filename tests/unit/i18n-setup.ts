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

// Not new URL(…, import.meta.url): under happy-dom that URL is the page's, not file: ("The URL must be of scheme file").
const file = resolve(process.cwd(), 'locales/en.yml');
const messages = generateChromeMessages(await parseMessagesFile(file)) as Record<string, { message: string }>;

export function getMessage(name: string, substitutions?: string | string[]): string {
  const entry = messages[name];
  if (!entry) return '';
  const subs = substitutions === undefined ? [] : Array.isArray(substitutions) ? substitutions : [substitutions];
  return entry.message.replace(/\$(\$|[1-9])/g, (_, which: string) => (which === '$' ? '$' : (subs[Number(which) - 1] ?? '')));
}

Object.assign(fakeBrowser.i18n, {
  getMessage,
  getUILanguage: () => 'en',
  getAcceptLanguages: async () => ['en'],
});

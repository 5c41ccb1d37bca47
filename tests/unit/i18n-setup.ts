/**
 * fakeBrowser has no i18n (it throws "not implemented"): give it the English
 * messages of locales/en.yml, built as the extension build builds them
 * (@wxt-dev/i18n/build), and Chrome's getMessage rules for `$1`…`$9` and `$$`
 * (developer.chrome.com/docs/extensions/reference/api/i18n#method-getMessage:
 * an unknown name answers ""). Unit tests then read English, as a user would.
 */
import { fileURLToPath } from 'node:url';
import { generateChromeMessages, parseMessagesFile } from '@wxt-dev/i18n/build';
import { fakeBrowser } from 'wxt/testing';

const file = fileURLToPath(new URL('../../locales/en.yml', import.meta.url));
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

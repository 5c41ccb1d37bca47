/**
 * The locales (locales/*.yml): every locale has every key English has, with the
 * same `{names}` and plural forms, and nothing English lacks; English words
 * every reason code exactly as the server does (contract/reasons.ts), and every
 * kind, via and /healthz warning code of the contract has its words.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseMessagesFile, type ParsedMessage } from '@wxt-dev/i18n/build';
import { describe, expect, it } from 'vitest';
import { HEALTH_WARNING_CODES, HIT_KINDS, KNOWN_VIAS, REASON_CODES, REASONS } from '../../contract/index.ts';
import { getMessage } from './i18n-setup.ts';

const dir = fileURLToPath(new URL('../../locales/', import.meta.url));
const LOCALES = readdirSync(dir).filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -4)).sort();

async function load(locale: string): Promise<Map<string, ParsedMessage>> {
  const parsed = await parseMessagesFile(`${dir}${locale}.yml`);
  return new Map(parsed.map((m) => [m.key.join('.'), m]));
}

/**
 * Names a locale may write instead of English's: an ordinal is worded per
 * language, so the code passes both `{nth}` ("3rd", English) and `{n}` ("3", for "zum 3. Mal").
 */
const ALTERNATES: Record<string, string> = { nth: 'n' };

/** What must agree between locales: the `{names}`, `$1`-style substitutions, and plural or not. */
function shape(m: ParsedMessage) {
  const named = m.namedSubstitutions.map((name) => ALTERNATES[name] ?? name);
  return { named: [...new Set(named)].sort(), substitutions: m.substitutions, plural: m.type === 'plural' };
}

describe('locales', () => {
  it('are English, German, French and Spanish at least', () => {
    expect(LOCALES).toEqual(expect.arrayContaining(['de', 'en', 'es', 'fr']));
  });

  it.each(LOCALES.filter((l) => l !== 'en'))('%s has every key English has, of the same shape, and no other', async (locale) => {
    const en = await load('en');
    const other = await load(locale);
    const missing = [...en.keys()].filter((k) => !other.has(k));
    const extra = [...other.keys()].filter((k) => !en.has(k));
    expect(missing, `${locale} lacks`).toEqual([]);
    expect(extra, `${locale} has keys English has not`).toEqual([]);
    for (const [key, m] of en) expect(shape(other.get(key)!), `${locale} ${key}`).toEqual(shape(m));
    for (const [key, m] of other) {
      const texts = m.type === 'plural' ? Object.values(m.plurals) : [m.message];
      for (const text of texts) expect(text.trim(), `${locale} ${key} is empty`).not.toBe('');
    }
  });

  it('word every reason code in English as the server does', async () => {
    const en = await load('en');
    for (const code of REASON_CODES) {
      const key = `reason.${code.replaceAll('-', '_')}`;
      expect(en.get(key), key).toBeDefined();
      expect((en.get(key) as { message: string }).message, key).toBe(REASONS[code]);
    }
  });

  it('have words for every kind, known via and /healthz warning code of the contract', () => {
    for (const kind of HIT_KINDS) expect(getMessage(`kind_${kind}`), kind).not.toBe('');
    for (const via of KNOWN_VIAS) expect(getMessage(`via_${via.replaceAll('-', '_')}`), via).not.toBe('');
    for (const code of HEALTH_WARNING_CODES) expect(getMessage(`health_${code.replaceAll('-', '_')}`), code).not.toBe('');
  });
});

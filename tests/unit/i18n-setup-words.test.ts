/**
 * The setup page, its checklist, the setup rule, the popup's reminders and reply lines
 * speak the browser's language (issue 17 item 6): in a German browser none of their
 * sentences is the English one, and the values put into them survive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newEmailRecord } from '../../lib/db';
import { reminderText } from '../../lib/reminders';
import { pixelBaseProblem, serverUrlError } from '../../lib/setup';
import { replyLine, statusLine } from '../../lib/state/format';
import { CHECK_IDS, CHECK_TEXT } from '../../lib/state/setup-check';
import { useLocale } from './i18n-setup';

const NOW = new Date(2026, 10, 30, 9, 0, 0).getTime();
const DAY = 24 * 60 * 60_000;
const ada = { name: 'Ada', address: 'ada@example.com' };

/** Every sentence these parts show, in the current locale. */
function sentences(): string[] {
  const email = newEmailRecord('tracker-words-00000001', { subject: 'Q3 budget', recipients: [ada], sentAt: NOW, opens: 2, lastOpenAt: NOW + DAY });
  const replied = { ...email, repliedAt: NOW + DAY, repliedBy: ada };
  return [
    pixelBaseProblem(null, false)!.message,
    pixelBaseProblem('http://localhost:8787/p/a/', false)!.message,
    pixelBaseProblem('http://track.example.com/p/a/', false)!.message,
    serverUrlError('')!,
    serverUrlError('ftp://track.example.com')!,
    ...CHECK_IDS.map((id) => CHECK_TEXT.label(id)),
    CHECK_TEXT.timeout(15),
    CHECK_TEXT.serverNext('https://track.example.com'),
    CHECK_TEXT.probeOk('self'),
    CHECK_TEXT.probeOk('bot'),
    reminderText(email, { condition: 'no-reply' }, NOW + 3 * DAY).title,
    reminderText(email, { condition: 'no-reply' }, NOW + 3 * DAY).message,
    reminderText(email, { condition: 'not-opened' }, NOW + 3 * DAY).title,
    replyLine(replied, NOW + 2 * DAY),
    replyLine({ ...replied, opens: 0 }, NOW + 2 * DAY),
    statusLine(newEmailRecord('tracker-words-00000002', { tracking: 'armed', source: 'another-app', sentAt: null }), NOW),
  ];
}

describe('setup, checklist, reminder and reply words', () => {
  afterEach(() => useLocale('en'));

  it('are German in a German browser, none of them the English sentence, with their values filled in', async () => {
    const english = sentences();
    await useLocale('de');
    const german = sentences();
    expect(german).toHaveLength(english.length);
    for (const [i, text] of german.entries()) {
      expect(text, `sentence ${i}`).not.toBe(english[i]);
      expect(text, `sentence ${i}`).not.toMatch(/\{[A-Za-z]+\}/);
    }
    expect(german).toContain('Keine Antwort von Ada');
    expect(german.join(' ')).toContain('„Q3 budget“ – 2-mal geöffnet, zuletzt am Dienstag');
    expect(german.join(' ')).toContain('localhost:8787');
    expect(german.join(' ')).toContain('https://track.example.com/healthz');
  });
});

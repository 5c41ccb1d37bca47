// @vitest-environment happy-dom
/** The popup's replied rows and reminders list (issue 19). */
import { IDBFactory } from 'fake-indexeddb';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { Popup } from '../../components/popup/Popup';
import { closeDb, db, newEmailRecord } from '../../lib/db';
import { setReminder } from '../../lib/reminders';
import { createEmailsModel } from '../../lib/state/emails';

const NOW = Date.now();
const DAY = 24 * 60 * 60_000;
const ada = { name: 'Ada', address: 'ada@example.com' };

beforeEach(() => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  document.body.innerHTML = '';
});

describe('popup: replies and reminders', () => {
  it('a replied email is data-state="replied" with who and "seen in your inbox"; reminders list due before upcoming', async () => {
    const d = await db();
    await d.put('emails', newEmailRecord('popup-replied-00000001', { subject: 'Q3 budget', recipients: [ada], sentAt: NOW - 5 * DAY, machineHits: 1, repliedAt: NOW - DAY, repliedBy: ada }));
    await d.put('emails', newEmailRecord('popup-remind-000000001', { subject: 'Offsite', recipients: [ada], sentAt: NOW - 4 * DAY }));
    await d.put('emails', newEmailRecord('popup-remind-000000002', { subject: 'Hiring', recipients: [ada], sentAt: NOW }));
    await setReminder('popup-remind-000000001', { condition: 'no-reply', afterDays: 3, at: null }, NOW - 4 * DAY + 1);
    await setReminder('popup-remind-000000002', { condition: 'not-opened', afterDays: 7, at: null });

    const container = document.createElement('div');
    document.body.append(container);
    const model = createEmailsModel();
    await act(async () => {
      render(<Popup model={model} />, container);
      await model.load();
    });
    const row = container.querySelector('[data-openping="email"][data-state="replied"]');
    expect(row?.textContent).toContain('Q3 budget');
    expect(row?.textContent).toContain('Replied by Ada');
    expect(row?.textContent).toContain('seen in your inbox');
    await expect
      .poll(() => [...container.querySelectorAll('[data-openping="reminder"]')].map((li) => [li.textContent?.split(' ')[0], li.getAttribute('data-due')]))
      .toEqual([
        ['Offsite', 'true'],
        ['Hiring', 'false'],
      ]);
  });
});

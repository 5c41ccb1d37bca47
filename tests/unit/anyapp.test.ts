/**
 * A pixel pasted into another mail app (issue 20, lib/anyapp.ts): the clipboard's markup, the default
 * label, when the extension takes it as sent, which fetches are probably the sender's own, and what the
 * feed then does to such an email (counts, notifications).
 */
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import {
  applyServerSend,
  labelOrDefault,
  markedSent,
  pixelHtml,
  pixelPlainText,
  probablyYou,
  PROBABLY_YOU_WINDOW_MS,
} from '../../lib/anyapp';
import { closeDb, db, newEmailRecord, type EmailRecord, type HitRecord } from '../../lib/db';
import { defaultSettings } from '../../lib/settings';
import { emailSubstate, statusLine } from '../../lib/state/format';
import { applyPage } from '../../lib/sync';

const NOW = Date.UTC(2026, 11, 7, 9, 0, 0);
const T = 'anyapp-tracker-00000001';
const BASE = 'https://track.example/p/AccountAccount0001/';
const HOME = { prefix: '198.51.100.0/24', asn: 64500, org: 'Home ISP' };
const AWAY = { prefix: '84.150.10.0/24', asn: 3320, org: 'Deutsche Telekom AG' };
const THUNDERBIRD = { name: 'Thunderbird', os: 'Windows', device: 'desktop' };

function hit(id: string, kind: HitRecord['kind'], at: number, network = HOME, client: HitRecord['client'] = THUNDERBIRD): HitRecord {
  return { id, tracker: T, at, kind, via: null, reason: `reason ${kind}`, reasonCode: null, reasonParams: {}, network, geo: null, client };
}

function waiting(fields: Partial<EmailRecord> = {}): EmailRecord {
  return newEmailRecord(T, { subject: 'Offer for Ada', source: 'another-app', autoSend: true, tracking: 'armed', sentAt: null, sortAt: NOW - 120_000, ...fields });
}

describe('the pixel on the clipboard', () => {
  it('is exactly the <img> of SPEC §6', () => {
    expect(pixelHtml(BASE, T)).toBe(`<img src="${BASE}${T}.gif" width="1" height="1" alt="">`);
  });
  it('as plain text says what it is and to delete it', () => {
    const text = pixelPlainText(BASE, T);
    expect(text).toContain('OpenPing tracking pixel');
    expect(text).toContain('delete this line');
    expect(text).toContain(`${BASE}${T}.gif`);
  });
  it('an empty label becomes "Untitled message" and the time; labels are trimmed and cut', () => {
    const at = new Date(NOW);
    expect(labelOrDefault('  ', at)).toBe(`Untitled message ${at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`);
    expect(labelOrDefault('  Offer for Ada ', at)).toBe('Offer for Ada');
    expect(labelOrDefault('x'.repeat(500), at)).toHaveLength(200);
  });
});

describe('when the extension takes it as sent', () => {
  it('not while every hit is presend (the draft in the user’s own app)', () => {
    const email = waiting();
    expect(applyServerSend(email, [hit('d1', 'presend', NOW - 60_000)])).toBe(email);
    expect(emailSubstate(email)).toBe('not-sent');
    expect(statusLine(email, NOW)).toMatch(/^Not sent yet/);
  });
  it('at its earliest hit that is not presend: the server sent it at that fetch', () => {
    const after = applyServerSend(waiting(), [hit('d1', 'presend', NOW - 60_000), hit('o2', 'open', NOW, AWAY), hit('o1', 'scanner', NOW - 5_000, AWAY)]);
    expect(after).toMatchObject({ tracking: 'sent', sentAt: NOW - 5_000, sentBy: 'first-fetch' });
    expect(emailSubstate(after)).toBeNull();
  });
  it('"I sent it" stands unless the server had sent it earlier', () => {
    const mine = markedSent(waiting(), NOW);
    expect(mine).toMatchObject({ tracking: 'sent', sentAt: NOW, sentBy: 'you' });
    expect(applyServerSend(mine, [hit('o1', 'open', NOW + 60_000, AWAY)])).toBe(mine);
    expect(applyServerSend(mine, [hit('o1', 'open', NOW - 30_000, AWAY)])).toMatchObject({ sentAt: NOW - 30_000, sentBy: 'first-fetch' });
  });
  it('never for a webmail email or one whose tracking was stopped', () => {
    const webmail = newEmailRecord(T, { tracking: 'armed' });
    expect(applyServerSend(webmail, [hit('o1', 'open', NOW, AWAY)])).toBe(webmail);
    const stopped = waiting({ tracking: 'stopped' });
    expect(applyServerSend(stopped, [hit('o1', 'open', NOW, AWAY)])).toBe(stopped);
  });
});

describe('probably you', () => {
  const sent = waiting({ tracking: 'sent', sentAt: NOW, sentBy: 'first-fetch' });
  const draft = hit('d1', 'presend', NOW - 120_000);

  it('an open from the draft’s network and app within the window after sending', () => {
    const own = probablyYou(sent, [draft, hit('o1', 'open', NOW + 90_000)]);
    expect([...own.keys()]).toEqual(['o1']);
    expect(own.get('o1')).toMatchObject({ draft: { id: 'd1' }, after: 90_000 });
  });
  it('not from another network, another app, later than the window, before sending, or without a draft fetch', () => {
    const others = [
      hit('net', 'open', NOW + 60_000, AWAY),
      hit('app', 'open', NOW + 60_000, HOME, { name: 'Apple Mail', os: 'macOS', device: 'desktop' }),
      hit('late', 'open', NOW + PROBABLY_YOU_WINDOW_MS + 1, HOME),
      hit('scan', 'scanner', NOW + 60_000, HOME),
    ];
    expect(probablyYou(sent, [draft, ...others]).size).toBe(0);
    expect(probablyYou(sent, [hit('o1', 'open', NOW + 60_000)]).size).toBe(0);
    expect(probablyYou(newEmailRecord(T, { sentAt: NOW }), [draft, hit('o1', 'open', NOW + 60_000)]).size).toBe(0);
  });
});

describe('the feed applied to a pasted pixel', () => {
  beforeEach(() => {
    fakeBrowser.reset();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
  });

  it('draft fetches keep it waiting; the first outside open sends it, counts and notifies; a later own view does neither', async () => {
    await (await db()).put('emails', waiting());
    const draft = await applyPage({ events: [hit('d1', 'presend', NOW - 60_000)], cursor: 'c1' }, defaultSettings, NOW);
    expect(draft.notifications).toEqual([]);
    expect(await (await db()).get('emails', T)).toMatchObject({ tracking: 'armed', sentAt: null, opens: 0 });

    const open = await applyPage({ events: [hit('o1', 'open', NOW, AWAY)], cursor: 'c2' }, defaultSettings, NOW + 1_000);
    expect(await (await db()).get('emails', T)).toMatchObject({ tracking: 'sent', sentAt: NOW, sentBy: 'first-fetch', opens: 1 });
    // SPEC §6 (wording of the i18n branch): the title says "Opened" (a pasted pixel knows no recipient), the message holds the label.
    expect(open.notifications.map((n) => n.title)).toEqual(['Opened']);
    expect(open.notifications[0]?.message).toContain('Offer for Ada');

    const own = await applyPage({ events: [hit('o2', 'open', NOW + 120_000)], cursor: 'c3' }, defaultSettings, NOW + 130_000);
    expect(own.notifications).toEqual([]);
    expect(await (await db()).get('emails', T)).toMatchObject({ opens: 1, lastOpenAt: NOW });
  });
});

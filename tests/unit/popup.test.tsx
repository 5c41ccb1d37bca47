// @vitest-environment happy-dom
import { IDBFactory } from 'fake-indexeddb';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { Popup } from '../../components/popup/Popup';
import { startBackground } from '../../lib/background';
import { closeDb, db, newEmailRecord, type EmailRecord, type HitRecord } from '../../lib/db';
import { saveIdentity, saveSettings, saveStatus } from '../../lib/settings';
import { createEmailsModel, matches } from '../../lib/state/emails';
import { emailState, statusLine } from '../../lib/state/format';
import { installFakeDnr } from './dnr-fake';
import { useLocale } from './i18n-setup';

const NOW = Date.now();

function email(i: number, fields: Partial<EmailRecord> = {}): EmailRecord {
  return newEmailRecord(`popup-tracker-${String(i).padStart(8, '0')}`, {
    subject: `Subject ${i}`,
    recipients: [{ name: `Name ${i}`, address: `r${i}@example.com` }],
    sentAt: NOW - (100 - i) * 60_000,
    ...fields,
  });
}

async function seed(records: EmailRecord[]): Promise<void> {
  const d = await db();
  const tx = d.transaction('emails', 'readwrite');
  for (const r of records) await tx.store.put(r);
  await tx.done;
}

async function mount(): Promise<{ container: HTMLElement; model: ReturnType<typeof createEmailsModel> }> {
  const container = document.createElement('div');
  document.body.append(container);
  const model = createEmailsModel();
  await act(async () => {
    render(<Popup model={model} />, container);
    await model.load();
  });
  return { container, model };
}

beforeEach(() => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  document.body.innerHTML = '';
});

describe('popup model', () => {
  it('lists sent emails newest first, leaves drafts out, and searches subject and recipients', async () => {
    await seed([
      email(1),
      email(2, { opens: 2, lastOpenAt: NOW - 300_000, lastOpenPlace: 'Berlin, DE' }),
      email(3, { machineHits: 1 }),
      email(4, { tracking: 'armed', sentAt: null }),
    ]);
    const model = createEmailsModel();
    await model.load();
    expect(model.emails.value.map((e) => e.subject)).toEqual(['Subject 3', 'Subject 2', 'Subject 1']);
    model.query.value = 'r1@example';
    expect(model.visible.value.map((e) => e.subject)).toEqual(['Subject 1']);
    model.query.value = 'NAME 2';
    expect(model.visible.value.map((e) => e.subject)).toEqual(['Subject 2']);
    model.query.value = '';
    model.filter.value = 'opened';
    expect(model.visible.value.map((e) => e.subject)).toEqual(['Subject 2']);
    model.filter.value = 'unopened';
    expect(model.visible.value.map((e) => e.subject)).toEqual(['Subject 3', 'Subject 1']);
  });

  it('describes states in words', () => {
    const opened = email(1, { opens: 3, lastOpenAt: NOW - 5 * 60_000, lastOpenPlace: 'Berlin, DE' });
    expect(emailState(opened)).toBe('opened');
    expect(statusLine(opened, NOW)).toBe('Opened 3× · last 5 min ago · Berlin, DE');
    expect(emailState(email(2, { machineHits: 2 }))).toBe('delivered');
    expect(emailState(email(3))).toBe('sent');
    expect(matches(email(4, { subject: null }), 'popup-tracker-00000004', 'all')).toBe(true);
  });
});

describe('popup view', () => {
  it('shows the empty state with how to start', async () => {
    const { container } = await mount();
    expect(container.querySelector('[data-openping="empty"]')?.textContent).toContain('Track');
    expect(container.querySelectorAll('[data-openping="email"]')).toHaveLength(0);
  });

  it('renders rows with state and subject, windowed for many emails', async () => {
    await seed(Array.from({ length: 500 }, (_, i) => email(i, { sentAt: NOW - (500 - i) * 1000, opens: i % 2 })));
    const { container } = await mount();
    const rows = [...container.querySelectorAll('[data-openping="email"]')];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40);
    expect(rows[0]?.textContent).toContain('Subject 499');
    expect(rows[0]?.getAttribute('data-state')).toBe('opened');
    expect(rows[1]?.getAttribute('data-state')).toBe('sent');
  });

  it('shows an error state when the server cannot be reached', async () => {
    await saveIdentity({ server: 'https://x.example', account: 'acct0123456789abcdef', token: 't', pixelBase: 'https://x.example/p/acct0123456789abcdef/' });
    await saveStatus({ state: 'offline', message: 'Cannot reach the tracking server at http://x', lastOkAt: null, retryAt: null, failures: 3 });
    await seed([email(1)]);
    const { container } = await mount();
    // Shown once the setup is known to be complete (a fresh install's setup banner never flashes red first).
    await expect.poll(() => container.querySelector('[data-openping="error"]')?.getAttribute('data-status')).toBe('offline');
    const banner = container.querySelector('[data-openping="error"]');
    expect(banner?.textContent).toContain('cannot be reached');
    expect(container.querySelectorAll('[data-openping="email"]')).toHaveLength(1);
  });

  it('first run with no account and no server: no error, no "recorded meanwhile", one button to the setup page', async () => {
    await saveStatus({ state: 'offline', message: 'Cannot reach the tracking server at http://localhost:8787', lastOkAt: null, retryAt: null, failures: 1 });
    const { container } = await mount();
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(container.querySelector('[data-openping="error"]')).toBeNull();
    expect(container.querySelector('[role="alert"]')).toBeNull();
    expect(container.textContent).not.toMatch(/recorded/);
    const banner = container.querySelector('[data-openping="setup"]');
    expect(banner?.getAttribute('data-problem')).toBe('no-account');
    expect(banner?.textContent).toMatch(/untracked/);
    const buttons = banner!.querySelectorAll('a, button');
    expect(buttons).toHaveLength(1);
    expect(buttons[0]!.getAttribute('href')).toBe('/onboarding.html');
    // The first steps are still there, below the banner.
    expect(container.querySelector('[data-openping="empty"]')).not.toBeNull();
  });

  it('a local pixel URL is setup incomplete, unless "Allow a local server" is on', async () => {
    await saveIdentity({ server: 'http://localhost:8787', account: 'acct0123456789abcdef', token: 't', pixelBase: 'http://localhost:8787/p/acct0123456789abcdef/' });
    const { container } = await mount();
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(container.querySelector('[data-openping="setup"]')?.getAttribute('data-problem')).toBe('public-url-local');
    await act(async () => {
      await saveSettings({ allowLocalServer: true });
      await new Promise((r) => setTimeout(r, 0));
    });
    await expect.poll(() => container.querySelector('[data-openping="setup"]')).toBeNull();
  });

  it('opens a detail view with the timeline, machine hits dimmed and explained', async () => {
    const e = email(7, { machineHits: 1 });
    await seed([e]);
    await (await db()).put('hits', {
      id: 'hit-1',
      tracker: e.tracker,
      at: NOW - 1_000,
      kind: 'prefetch',
      via: 'apple-mpp',
      reason: 'Apple Mail Privacy Protection fetched this on delivery — Apple hides real opens.',
      reasonCode: null,
      reasonParams: {},
      network: { prefix: '172.224.9.0/24', asn: 36183, org: 'Akamai' },
      geo: null,
      client: null,
    });
    const { container, model } = await mount();
    await act(async () => {
      await model.select(e.tracker);
    });
    const detail = container.querySelector('[data-openping="detail"]');
    expect(detail?.getAttribute('data-state')).toBe('delivered');
    const hit = container.querySelector('[data-openping="hit"]');
    expect(hit?.getAttribute('data-kind')).toBe('prefetch');
    expect(hit?.className).toContain('hit--machine');
    expect(hit?.textContent).toContain('Apple hides real opens');
    expect(hit?.textContent).toContain('not that someone read it');
    expect(hit?.textContent).toContain('via Apple Mail Privacy Protection');
  });
});

describe('popup words', () => {
  afterEach(() => useLocale('en'));

  async function detailWith(hits: Array<Partial<HitRecord>>, fields: Partial<EmailRecord> = {}) {
    const e = email(8, { opens: 1, ...fields });
    await seed([e]);
    for (const [i, h] of hits.entries()) {
      await (await db()).put('hits', {
        id: `hit-${i}`, tracker: e.tracker, at: NOW - 1_000 + i, kind: 'open', via: null, reason: 'The server’s own sentence.',
        reasonCode: null, reasonParams: {}, network: { prefix: '198.51.100.0/24', asn: 3320, org: 'Telekom' }, geo: null, client: null,
        ...h,
      });
    }
    const { container, model } = await mount();
    await act(async () => {
      await model.select(e.tracker);
    });
    return { container, model, tracker: e.tracker };
  }

  it('words each hit\'s reason from its code, and shows the server\'s sentence for a code it does not know', async () => {
    const { container } = await detailWith([
      { kind: 'bot', reason: 'Server wording of a tool.', reasonCode: 'tool', reasonParams: { name: 'curl' } },
      { kind: 'scanner', reason: 'Server wording of a gap.', reasonCode: 'too-fast', reasonParams: { seconds: '1' } },
      { reason: 'A reason from a newer server.', reasonCode: 'some-later-code', reasonParams: {} },
      { reason: 'A reason from an older server.' },
    ]);
    // The timeline lists the newest first.
    const reasons = [...container.querySelectorAll('.hit__reason')].map((p) => p.textContent).reverse();
    expect(reasons).toEqual([
      'Fetched by curl, an automated tool — not a person.',
      'Fetched 1 second after sending — too soon for anyone to have opened it, so it was an automatic check.',
      'A reason from a newer server.',
      'A reason from an older server.',
    ]);
  });

  it('speaks German in a German browser: the list, the detail and the reasons', async () => {
    await useLocale('de');
    const { container } = await detailWith([
      { kind: 'duplicate', reason: 'Server wording.', reasonCode: 'duplicate', reasonParams: { seconds: '2' } },
      { via: 'gmail-proxy', reason: 'Server wording.', reasonCode: 'gmail-open', reasonParams: {} },
    ]);
    expect(container.querySelector('[data-openping="detail"] h3')?.textContent).toBe('Verlauf');
    expect(container.querySelector('[data-action="delete"]')?.textContent).toBe('Löschen');
    const text = container.querySelector('[data-openping="timeline"]')?.textContent ?? '';
    expect(text).toContain('Eine Wiederholung des Abrufs vom selben Ort 2 Sekunden zuvor – einmal gezählt.');
    expect(text).toContain('In Gmail geöffnet');
    expect(text).toContain('über Gmails Bild-Proxy');
    expect(text).not.toContain('Server wording');
  });

  it('names a recipient whose name is the address once', async () => {
    const { container } = await detailWith([], {
      recipients: [{ name: 'ada@example.com', address: 'ada@example.com' }, { name: 'Grace Hopper', address: 'grace@example.com' }],
    });
    const to = container.querySelector('.detail__facts dd')?.textContent;
    expect(to).toBe('ada@example.com, Grace Hopper <grace@example.com>');
  });

  it('mutes and unmutes an email\'s notifications from its detail view', async () => {
    installFakeDnr();
    await startBackground();
    const { container, tracker } = await detailWith([]);
    const button = () => container.querySelector<HTMLButtonElement>('[data-action="mute"], [data-action="unmute"]')!;
    expect(button().getAttribute('data-action')).toBe('mute');
    await act(async () => {
      button().click();
    });
    await expect.poll(async () => (await (await db()).get('emails', tracker))?.muted).toBe(true);
    await expect.poll(() => container.querySelector('[data-openping="muted"]')?.textContent).toContain('Muted');
    expect(button().getAttribute('data-action')).toBe('unmute');
    await act(async () => {
      button().click();
    });
    await expect.poll(async () => (await (await db()).get('emails', tracker))?.muted).toBe(false);
  });
});

// @vitest-environment happy-dom
/**
 * An honest state for Apple Mail readers (issue 14; SPEC §1): a message whose only machine hits are
 * Apple Mail Privacy Protection's delivery fetch is `delivered` with the sub-state `apple-mpp` —
 * "delivered to Apple Mail, Apple hides whether it was read" — in the list and the detail, and it
 * never notifies.
 */
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { Popup } from '../../components/popup/Popup';
import { DB_NAME, closeDb, db, newEmailRecord, type HitRecord } from '../../lib/db';
import { defaultSettings } from '../../lib/settings';
import { createEmailsModel } from '../../lib/state/emails';
import { emailState, emailSubstate, statusLine } from '../../lib/state/format';
import { applyPage } from '../../lib/sync';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const T = 'apple-reader-000000001';

function hit(id: string, kind: HitRecord['kind'], via: string | null, at = NOW - 60_000): HitRecord {
  return {
    id,
    tracker: T,
    at,
    kind,
    via,
    reason: `reason for ${kind}`,
    reasonCode: null,
    reasonParams: {},
    network: { prefix: '172.224.9.0/24', asn: 36183, org: 'Akamai' },
    geo: null,
    client: null,
  };
}
const mpp = (id: string, at?: number) => hit(id, 'prefetch', 'apple-mpp', at);

async function seedSent(): Promise<void> {
  await (await db()).put('emails', newEmailRecord(T, { subject: 'Offer for an iPhone user', sentAt: NOW - 3_600_000, webmail: 'gmail' }));
}

async function apply(events: HitRecord[], cursor: string) {
  return applyPage({ events, cursor }, defaultSettings, NOW);
}

async function stored() {
  const email = await (await db()).get('emails', T);
  if (!email) throw new Error('the email was not stored');
  return email;
}

beforeEach(() => {
  fakeBrowser.reset();
  closeDb();
  globalThis.indexedDB = new IDBFactory();
  document.body.innerHTML = '';
});

describe('the apple-mpp sub-state', () => {
  it('is set while every machine hit is Apple MPP, stays `delivered`, and never notifies', async () => {
    await seedSent();
    const first = await apply([mpp('m1'), mpp('m2', NOW - 30_000), hit('s1', 'self', null)], 'c1');
    expect(first.notifications).toEqual([]);
    const email = await stored();
    expect(emailState(email)).toBe('delivered');
    expect(emailSubstate(email)).toBe('apple-mpp');
    expect(statusLine(email, NOW)).toBe('Delivered to Apple Mail — Apple hides whether it was read');
  });

  it('is gone once another kind of machine hit or an open arrives', async () => {
    await seedSent();
    await apply([mpp('m1')], 'c1');
    await apply([hit('x1', 'scanner', null)], 'c2');
    let email = await stored();
    expect(emailState(email)).toBe('delivered');
    expect(emailSubstate(email)).toBeNull();
    expect(statusLine(email, NOW)).toBe('Delivered — no one is known to have opened it yet');

    await apply([hit('o1', 'open', null, NOW - 1_000)], 'c3');
    email = await stored();
    expect(emailState(email)).toBe('opened');
    expect(emailSubstate(email)).toBeNull();
  });

  it('follows a re-label: an MPP fetch the server re-labels as a bot ends it', async () => {
    await seedSent();
    await apply([mpp('m1')], 'c1');
    expect(emailSubstate(await stored())).toBe('apple-mpp');
    await apply([hit('m1', 'bot', null)], 'c2');
    expect(emailSubstate(await stored())).toBeNull();
  });

  it('is no sub-state of a sent or opened email', () => {
    expect(emailSubstate(newEmailRecord(T, { sentAt: NOW }))).toBeNull();
    expect(emailSubstate(newEmailRecord(T, { sentAt: NOW, opens: 1, machineHits: 1, appleMppHits: 1 }))).toBeNull();
  });
});

describe('the popup for an Apple Mail reader', () => {
  async function mount() {
    const container = document.createElement('div');
    document.body.append(container);
    const model = createEmailsModel();
    await act(async () => {
      render(<Popup model={model} />, container);
      await model.load();
    });
    return { container, model };
  }

  it('marks the row and the detail with data-substate="apple-mpp" and says what Apple hides', async () => {
    await seedSent();
    await apply([mpp('m1')], 'c1');
    const { container, model } = await mount();

    const row = container.querySelector('[data-openping="email"]');
    expect(row?.getAttribute('data-state')).toBe('delivered');
    expect(row?.getAttribute('data-substate')).toBe('apple-mpp');
    expect(row?.textContent).toContain('Delivered to Apple Mail — Apple hides whether it was read');

    await act(async () => {
      await model.select(T);
    });
    const detail = container.querySelector('[data-openping="detail"]');
    expect(detail?.getAttribute('data-state')).toBe('delivered');
    expect(detail?.getAttribute('data-substate')).toBe('apple-mpp');
    expect(detail?.querySelector('[data-openping="substate-note"]')?.textContent).toContain('Apple hides whether it was read');
    expect(detail?.querySelector('[data-openping="hit"]')?.getAttribute('data-kind')).toBe('prefetch');
  });

  it('shows no sub-state on a plain delivered row', async () => {
    await seedSent();
    await apply([hit('x1', 'scanner', null)], 'c1');
    const { container } = await mount();
    const row = container.querySelector('[data-openping="email"]');
    expect(row?.getAttribute('data-state')).toBe('delivered');
    expect(row?.hasAttribute('data-substate')).toBe(false);
  });
});

describe('db upgrade to version 4', () => {
  it('counts the Apple MPP hits of emails stored before, so they show the sub-state at once', async () => {
    // A database as version 3 of lib/db.ts left it: records without appleMppHits.
    const v3 = await openDB(DB_NAME, 3, {
      upgrade(d) {
        const emails = d.createObjectStore('emails', { keyPath: 'tracker' });
        emails.createIndex('bySentAt', 'sentAt');
        emails.createIndex('bySortAt', 'sortAt');
        emails.createIndex('byUnseen', 'unseenOpens');
        d.createObjectStore('hits', { keyPath: 'id' }).createIndex('byTracker', 'tracker');
        d.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true }).createIndex('byNextAt', 'nextAt');
        d.createObjectStore('meta');
      },
    });
    const { appleMppHits: _, ...old } = newEmailRecord(T, { subject: 'Old', sentAt: NOW, machineHits: 2 });
    await v3.put('emails', old);
    await v3.put('hits', mpp('m1'));
    await v3.put('hits', mpp('m2'));
    await v3.put('hits', hit('s1', 'self', null));
    v3.close();

    const upgraded = await stored();
    expect(upgraded.appleMppHits).toBe(2);
    expect(emailSubstate(upgraded)).toBe('apple-mpp');
  });
});

/**
 * The armed → sent rule of a pixel pasted into another mail app (backend/anysend.ts) and what a
 * send learnt from a fetch changes in the classifier (issue 20).
 */
import { describe, expect, it } from 'vitest';
import { sendsTracker } from '../../backend/anysend.ts';
import { classify } from '../../backend/classify/index.ts';
import type { HitSignals, TrackerContext } from '../../backend/classify/types.ts';

const OWN = new Set(['127.0.0.0/24', '2001:db8:5::/48']);

describe('sendsTracker', () => {
  it('sends an armed autoSend tracker on a fetch from a network the account never called from', () => {
    expect(sendsTracker({ state: 'armed', autoSend: true }, '84.150.10.0/24', OWN)).toBe(true);
    expect(sendsTracker({ state: 'armed', autoSend: true }, '2001:db8:6::/48', OWN)).toBe(true);
  });
  it('never on the sender’s own networks, an unknown network, without autoSend, or once sent', () => {
    expect(sendsTracker({ state: 'armed', autoSend: true }, '127.0.0.0/24', OWN)).toBe(false);
    expect(sendsTracker({ state: 'armed', autoSend: true }, '2001:db8:5::/48', OWN)).toBe(false);
    expect(sendsTracker({ state: 'armed', autoSend: true }, 'unknown', OWN)).toBe(false);
    expect(sendsTracker({ state: 'armed', autoSend: false }, '84.150.10.0/24', OWN)).toBe(false);
    expect(sendsTracker({ state: 'sent', autoSend: true }, '84.150.10.0/24', OWN)).toBe(false);
  });
});

describe('classify after a send learnt from a fetch', () => {
  const at = 1_780_000_000_000;
  const hit: HitSignals = {
    at,
    method: 'GET',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
    headers: { accept: 'image/*' },
    network: { prefix: '84.150.10.0/24', family: 4, asn: 3320, org: 'Deutsche Telekom AG' },
  };
  const context = (sentBy: TrackerContext['sentBy']): TrackerContext => ({ state: 'sent', sentAt: at, sentBy, selfViews: [], prior: [] });

  it('the sending fetch itself is an open: its time is no send time to be "too soon" after', () => {
    expect(classify(hit, context('fetch')).kind).toBe('open');
  });
  it('a client’s send time keeps the rule', () => {
    expect(classify(hit, context('client')).kind).toBe('scanner');
    expect(classify(hit, context(undefined)).kind).toBe('scanner');
  });
});

describe('presend hits name the app that showed the draft', () => {
  const at = 1_780_000_000_000;
  const draft = (userAgent: string): HitSignals => ({
    at,
    method: 'GET',
    userAgent,
    headers: {},
    network: { prefix: '127.0.0.0/24', family: 4, asn: null, org: null },
  });
  const armed: TrackerContext = { state: 'armed', sentAt: null, selfViews: [], prior: [] };

  it('a mail app or browser: its name and system, so a later view from it can be told as probably the sender’s', () => {
    const c = classify(draft('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0'), armed);
    expect(c).toMatchObject({ kind: 'presend', client: { name: 'Thunderbird', os: 'Windows' } });
  });
  it('a tool, a proxy or nothing: no client', () => {
    expect(classify(draft('curl/8.5.0'), armed).client).toBeNull();
    expect(classify(draft('Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)'), armed).client).toBeNull();
    expect(classify(draft(''), armed).client).toBeNull();
  });
});

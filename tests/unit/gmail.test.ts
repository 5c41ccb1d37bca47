// @vitest-environment happy-dom
/**
 * The Gmail adapter on the saved fixture's DOM: finding composes and message
 * views, reading a compose, detecting every way of sending, and telling the
 * editor about the pixel.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gmail } from '../../lib/webmail/gmail';
import { SelectorError, type ComposeHandle, type SendEvent } from '../../lib/webmail/types';

const fixture = new DOMParser().parseFromString(readFileSync('tests/fixtures/gmail-2026-11-mail.html', 'utf8'), 'text/html');
const template = (id: string) => (fixture.getElementById(id) as HTMLTemplateElement).content.cloneNode(true) as DocumentFragment;

let stop: AbortController;
const flush = () => new Promise((r) => setTimeout(r, 0));

function popOut(): HTMLElement {
  const dialog = document.createElement('div');
  dialog.setAttribute('role', 'dialog');
  dialog.append(template('compose'));
  dialog.querySelector('.Uo')!.remove();
  document.getElementById('compose-dock')!.append(dialog);
  return dialog;
}

function inlineReply(): HTMLElement {
  const area = document.getElementById('reply-area')!;
  area.append(template('compose'));
  return area.querySelector<HTMLElement>('.M9')!;
}

async function watch(): Promise<ComposeHandle[]> {
  const found: ComposeHandle[] = [];
  gmail.watchComposes(document, (c) => found.push(c), stop.signal);
  await flush();
  return found;
}

beforeEach(() => {
  document.title = fixture.title;
  document.body.innerHTML = fixture.body.innerHTML;
  document.getElementById('main')!.append(template('thread-view'));
  stop = new AbortController();
});
afterEach(() => stop.abort());

describe('Gmail adapter: composes', () => {
  it('finds composes already open and each one opened later, once', async () => {
    popOut();
    const found = await watch();
    expect(found).toHaveLength(1);
    inlineReply();
    popOut();
    await flush();
    expect(found).toHaveLength(3);
    expect(new Set(found.map((c) => c.root)).size).toBe(3);
    for (const c of found) expect(c.root.classList.contains('M9')).toBe(true);
    // Gmail re-rendering inside a compose reports nothing new.
    found[0]!.root.querySelector('.aDh')!.append(document.createElement('div'));
    await flush();
    expect(found).toHaveLength(3);
  });

  it('still finds an inline reply, one per compose, if Gmail drops the `.M9` class', async () => {
    const root = inlineReply();
    root.classList.remove('M9');
    const found = await watch();
    expect(found).toHaveLength(1);
    expect(found[0]!.root.getAttribute('role')).toBe('region');
    expect(found[0]!.root.contains(found[0]!.body())).toBe(true);
  });

  it('stops finding composes once aborted', async () => {
    const found = await watch();
    stop.abort();
    popOut();
    await flush();
    expect(found).toHaveLength(0);
  });

  it('reads subject, recipients, sender and thread link of a pop-out', async () => {
    const dialog = popOut();
    const [compose] = await watch();
    dialog.querySelector<HTMLInputElement>('input[name="subjectbox"]')!.value = 'Numbers';
    dialog.querySelector('[name="to"] [role="listbox"]')!.innerHTML =
      '<div role="option" data-name="Bob Stone" data-hovercard-id="bob@example.org"></div>' +
      '<div role="option" data-name="carol@example.net" data-hovercard-id="carol@example.net"></div>';
    expect(compose!.subject()).toBe('Numbers');
    expect(compose!.recipients()).toEqual([
      { name: 'Bob Stone', address: 'bob@example.org' },
      { name: 'carol@example.net', address: 'carol@example.net' },
    ]);
    expect(compose!.sender()).toBe('ada.lovelace@example.com');
    // A new message has no thread yet: a search of Sent for its subject.
    expect(compose!.threadUrl()).toBe(`${location.origin}${location.pathname}#search/in%3Asent+subject%3A%22Numbers%22`);
    dialog.querySelector<HTMLInputElement>('input[name="lts"]')!.value = '18c9a7f2b3d4e5f6';
    expect(compose!.threadUrl()).toBe(`${location.origin}${location.pathname}#all/18c9a7f2b3d4e5f6`);
    expect(compose!.body().getAttribute('g_editable')).toBe('true');
    expect(compose!.toggleAnchor().classList.contains('dC')).toBe(true);
  });

  it('reads the sender from the title when there is no From field', async () => {
    const dialog = popOut();
    dialog.querySelector('input[name="from"]')!.remove();
    const [compose] = await watch();
    expect(compose!.sender()).toBe('ada.lovelace@example.com');
    // A thread's subject in the title may hold an address too; the account's comes last.
    document.title = 'Re: ask bob@example.org - ada.lovelace@example.com - Gmail';
    expect(compose!.sender()).toBe('ada.lovelace@example.com');
    document.title = 'Gmail';
    expect(compose!.sender()).toBeNull();
  });

  it('gives an inline reply the thread subject and the thread link', async () => {
    inlineReply();
    const [compose] = await watch();
    expect(compose!.subject()).toBe('Quarterly numbers');
    expect(compose!.threadUrl()).toBe(location.href);
  });

  it('throws SelectorError when a lookup that must succeed fails', async () => {
    const dialog = popOut();
    const [compose] = await watch();
    dialog.querySelector('[g_editable]')!.removeAttribute('g_editable');
    dialog.querySelector('.Ap')!.classList.remove('Ap');
    expect(() => compose!.body()).toThrow(SelectorError);
    for (const el of dialog.querySelectorAll('.IZ, .hG, .aoO')) el.className = 'renamed';
    expect(() => compose!.toggleAnchor()).toThrow(/gmail: Send button not found/);
    expect(() => gmail.watchSend(compose!, () => {}, stop.signal)).toThrow(SelectorError);
  });
});

describe('Gmail adapter: sending', () => {
  async function sending(kind: 'popout' | 'inline' = 'popout') {
    const el = kind === 'popout' ? popOut() : inlineReply();
    const [compose] = await watch();
    const events: SendEvent[] = [];
    gmail.watchSend(compose!, (e) => events.push(e), stop.signal);
    return { el, compose: compose!, events };
  }

  it('sees a click on Send, or inside it, before the page does', async () => {
    const { el, events } = await sending();
    const order: string[] = [];
    el.addEventListener('click', () => order.push(`page:${events.length}`));
    const before = Date.now();
    el.querySelector<HTMLElement>('.aoO')!.click();
    const after = Date.now();
    expect(events).toHaveLength(1);
    expect(order).toEqual(['page:1']);
    expect(events[0]!.scheduled).toBe(false);
    // Taken at the click: between the clock readings around it, however slow the machine.
    expect(events[0]!.sendAt).toBeGreaterThanOrEqual(before);
    expect(events[0]!.sendAt).toBeLessThanOrEqual(after);
  });

  it('sees Enter and Space on Send, and Ctrl/Cmd+Enter anywhere in the compose', async () => {
    const { el, events } = await sending();
    const send = el.querySelector('.aoO')!;
    const body = el.querySelector('[g_editable]')!;
    send.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    send.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', bubbles: true }));
    body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true }));
    body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', metaKey: true, bubbles: true }));
    expect(events).toHaveLength(4);
    // A plain Enter in the body is a new line, and clicks elsewhere are not sends.
    body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    el.querySelector<HTMLElement>('.oh')!.click();
    el.querySelector<HTMLElement>('input[name="subjectbox"]')!.click();
    expect(events).toHaveLength(4);
  });

  it('sees Send + archive in a reply', async () => {
    const { el, events } = await sending('inline');
    el.querySelector<HTMLElement>('.Uo')!.click();
    expect(events).toHaveLength(1);
  });

  it('sees Schedule send in the menu opened from this compose only', async () => {
    const first = await sending();
    const second = popOut();
    await flush();
    const menu = () => {
      const m = document.createElement('div');
      m.setAttribute('role', 'menu');
      m.innerHTML = '<div role="menuitem" selector="scheduledSend">Schedule</div>';
      document.body.append(m);
      return m.firstElementChild as HTMLElement;
    };
    // The other compose's menu: not ours.
    second.querySelector<HTMLElement>('.hG')!.click();
    menu().click();
    expect(first.events).toHaveLength(0);
    first.el.querySelector<HTMLElement>('.hG')!.click();
    expect(first.events).toHaveLength(0);
    menu().click();
    expect(first.events).toHaveLength(1);
    expect(first.events[0]!.scheduled).toBe(true);
  });

  it('stops listening when aborted', async () => {
    const { el, events } = await sending();
    stop.abort();
    el.querySelector<HTMLElement>('.aoO')!.click();
    expect(events).toHaveLength(0);
  });
});

describe('Gmail adapter: pixel, close, message views', () => {
  it('appends the pixel at the end and tells the editor, as a typed edit would', async () => {
    const dialog = popOut();
    const [compose] = await watch();
    const heard: string[] = [];
    const body = compose!.body();
    for (const type of ['input', 'keyup']) body.addEventListener(type, (e) => heard.push(`${e.type}:${e.bubbles}`));
    const img = document.createElement('img');
    gmail.insertPixel(compose!, img);
    expect(body.lastChild).toBe(img);
    expect(heard).toEqual(['input:true', 'keyup:true']);
    // Already at the end: nothing to do, nothing to announce.
    gmail.insertPixel(compose!, img);
    expect(heard).toHaveLength(2);
    gmail.removePixel(compose!, img);
    expect(img.isConnected).toBe(false);
    expect(heard).toHaveLength(4);
    expect(dialog.querySelectorAll('img')).toHaveLength(0);
  });

  it('tells when a compose leaves the page, once, but not when it moves to full screen', async () => {
    const dialog = popOut();
    const [compose] = await watch();
    let closed = 0;
    gmail.watchClose(compose!, () => closed++, stop.signal);
    const full = document.createElement('div');
    full.className = 'aSs';
    document.body.append(full);
    full.append(dialog);
    await flush();
    expect(closed).toBe(0);
    dialog.remove();
    await flush();
    document.body.append(document.createElement('div'));
    await flush();
    expect(closed).toBe(1);
  });

  it('keeps watching for closes when another watcher of the page fails', async () => {
    const dialog = popOut();
    const [compose] = await watch();
    let closed = 0;
    // A watcher that throws on every new compose (e.g. a handler that hit a bug) comes first.
    let broken = false;
    gmail.watchComposes(document, () => {
      if (broken) throw new Error('broken handler');
    }, stop.signal);
    broken = true;
    gmail.watchClose(compose!, () => closed++, stop.signal);
    popOut();
    dialog.remove();
    await flush();
    expect(closed).toBe(1);
  });

  it('reports message-body images, not compose ones, including a src set later', async () => {
    const views: HTMLImageElement[][] = [];
    gmail.watchMessageViews(document, (images) => views.push(images), stop.signal);
    // The thread view already shows one proxied image.
    expect(views).toHaveLength(1);
    expect(views[0]![0]!.getAttribute('src')).toMatch(/^https:\/\/ci3\.googleusercontent\.com\/meips\//);
    const dialog = popOut();
    dialog.querySelector('[g_editable]')!.append(document.createElement('img'));
    await flush();
    expect(views).toHaveLength(1);
    const message = document.querySelector('.a3s')!;
    const late = document.createElement('img');
    message.append(late);
    await flush();
    expect(views).toHaveLength(2);
    late.setAttribute('src', 'https://ci3.googleusercontent.com/meips/x=s0-d-e1-ft#https://t.example/p/a/b.gif');
    await flush();
    expect(views).toHaveLength(3);
    expect(views[2]).toEqual([late]);
  });
});

describe('Gmail adapter in another language', () => {
  it('finds and reads composes when every label is localized (German)', async () => {
    const german: Record<string, string> = {
      'Send ‪(Ctrl-Enter)‬': 'Senden ‪(Strg-Eingabe)‬',
      'More send options': 'Weitere Sendeoptionen',
      'Message Body': 'Nachrichtentext',
      'To recipients': 'An-Empfänger',
      'Send + archive': 'Senden und archivieren',
      'Discard draft': 'Entwurf verwerfen',
      'New Message': 'Neue Nachricht',
    };
    for (const el of document.querySelectorAll('[aria-label], [data-tooltip]')) {
      for (const attr of ['aria-label', 'data-tooltip']) {
        const value = el.getAttribute(attr);
        if (value !== null) el.setAttribute(attr, german[value] ?? `de:${value}`);
      }
    }
    document.title = 'Posteingang (1) – ada.lovelace@example.com – Gmail';
    const dialog = popOut();
    for (const el of dialog.querySelectorAll('[aria-label]')) el.setAttribute('aria-label', german[el.getAttribute('aria-label')!] ?? 'x');
    dialog.querySelector('input[name="from"]')!.remove();
    const [compose] = await watch();
    expect(compose).toBeDefined();
    expect(compose!.sender()).toBe('ada.lovelace@example.com');
    expect(compose!.toggleAnchor().classList.contains('dC')).toBe(true);
    const events: SendEvent[] = [];
    gmail.watchSend(compose!, (e) => events.push(e), stop.signal);
    dialog.querySelector<HTMLElement>('[aria-label^="Senden ‪"]')!.click();
    expect(events).toHaveLength(1);
  });
});

// @vitest-environment happy-dom
/**
 * The Outlook adapter (lib/webmail/outlook.ts) on the saved fixtures, loaded
 * into the test document without their scripts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { composeRootOf, outlook } from '../../lib/webmail/outlook';
import { SelectorError, type ComposeHandle, type SendEvent } from '../../lib/webmail/types';

function load(name: string, path = '/mail/0/inbox/id/AQQkADAwATM0MDAAMS1kYjk1'): void {
  const html = readFileSync(resolve(__dirname, '../fixtures', name), 'utf8');
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  for (const script of parsed.querySelectorAll('script')) script.remove();
  document.body.innerHTML = parsed.body.innerHTML;
  window.history.replaceState(null, '', path);
}

/** The fixture's "New mail": a compose from its template, as its own script would add it. */
function newCompose(editorId: number): HTMLElement {
  const template = document.getElementById('sim-compose') as HTMLTemplateElement;
  const compose = template.content.firstElementChild!.cloneNode(true) as HTMLElement;
  compose.querySelector('[id^="editorParent_"]')!.id = `editorParent_${editorId}`;
  document.querySelector('[data-sim-pane="compose"]')!.append(compose);
  return compose;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function collectComposes(signal: AbortSignal): ComposeHandle[] {
  const composes: ComposeHandle[] = [];
  outlook.watchComposes(document.body, (c) => composes.push(c), signal);
  return composes;
}

let controller: AbortController;
beforeEach(() => {
  controller = new AbortController();
});
afterEach(() => {
  controller.abort();
  document.body.innerHTML = '';
});

describe('finding composes', () => {
  it('reports the inline reply already open, then each new draft once', async () => {
    load('outlook-live-2026-11-mail.html');
    const composes = collectComposes(controller.signal);
    expect(composes).toHaveLength(1);
    expect(composes[0]!.root.getAttribute('data-sim-compose')).toBe('reply');

    const first = newCompose(7);
    const second = newCompose(8);
    await flush();
    expect(composes.map((c) => c.root)).toEqual([composes[0]!.root, first, second]);

    // Unrelated changes inside a known compose report nothing new.
    first.querySelector('[aria-multiline]')!.append(document.createElement('p'));
    await flush();
    expect(composes).toHaveLength(3);
  });

  it('takes the nearest ancestor holding Send, never one holding a second draft', () => {
    load('outlook-live-2026-11-mail.html');
    const a = newCompose(7);
    const b = newCompose(8);
    b.querySelector('[data-sim-send]')!.remove();
    const body = b.querySelector<HTMLElement>('[aria-multiline]')!;
    const { root, send } = composeRootOf(body);
    // Without its own Send the walk stops below the pane holding draft A's Send.
    expect(send).toBeNull();
    expect(root.contains(a)).toBe(false);
    expect(root.contains(body)).toBe(true);
  });

  it('stops when aborted', async () => {
    load('outlook-live-2026-11-mail.html');
    const composes = collectComposes(controller.signal);
    controller.abort();
    newCompose(7);
    await flush();
    expect(composes).toHaveLength(1);
  });

  it('reports a compose whose Send is gone after a grace period; it then says why', async () => {
    vi.useFakeTimers();
    try {
      load('outlook-live-2026-11-mail.html');
      const composes = collectComposes(controller.signal);
      const broken = newCompose(7);
      broken.querySelector('.fui-SplitButton')!.remove();
      await vi.advanceTimersByTimeAsync(0);
      expect(composes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(composes).toHaveLength(2);
      const compose = composes[1]!;
      expect(compose.root.contains(broken.querySelector('[aria-multiline]'))).toBe(true);
      expect(() => compose.toggleAnchor()).toThrow(SelectorError);
      expect(() => outlook.watchSend(compose, () => {}, controller.signal)).toThrow(/outlook: Send button not found/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('reading a compose', () => {
  it('reads a new message on outlook.live.com (English)', () => {
    load('outlook-live-2026-11-mail.html', '/mail/0/');
    const root = newCompose(7);
    root.querySelector<HTMLInputElement>('[data-sim-subject]')!.value = '  Lunch?  ';
    root.querySelector('[data-sim-well="to"]')!.innerHTML =
      '<span data-lpc-hover-target-id="p1" title="Grace.Hopper@example.org">Grace Hopper</span>' +
      '<span data-lpc-hover-target-id="p2" title="bob@example.net">bob@example.net</span>';
    root.querySelector('[data-sim-well="cc"]')!.innerHTML = '<span data-lpc-hover-target-id="p3" title="grace.hopper@example.org">Grace</span>';
    const compose = collectComposes(controller.signal).find((c) => c.root === root)!;
    expect(compose.subject()).toBe('Lunch?');
    expect(compose.recipients()).toEqual([
      { name: 'Grace Hopper', address: 'grace.hopper@example.org' },
      { name: null, address: 'bob@example.net' },
    ]);
    expect(compose.sender()).toBe('ada.sender@outlook.com');
    expect(compose.threadUrl()).toBe(`${location.origin}/mail/0/sentitems`);
    expect(compose.body().getAttribute('aria-multiline')).toBe('true');
    expect(compose.toggleAnchor().classList.contains('fui-SplitButton')).toBe(true);
  });

  it('reads an inline reply on outlook.office.com (German): subject from the conversation, link to it', () => {
    load('outlook-office-2026-11-mail.html', '/mail/inbox/id/AQQkADAwATM0MDAAMS1kYjk1');
    const [reply] = collectComposes(controller.signal);
    expect(reply!.subject()).toBe('Quartalszahlen');
    expect(reply!.recipients()).toEqual([{ name: 'Grace Hopper', address: 'grace.hopper@example.org' }]);
    expect(reply!.sender()).toBe('ada.sender@contoso.com');
    expect(reply!.threadUrl()).toBe(location.href);
  });

  it('does not count an @mention in the body as a recipient', () => {
    load('outlook-live-2026-11-mail.html');
    const [reply] = collectComposes(controller.signal);
    reply!.body().insertAdjacentHTML('afterbegin', '<span data-lpc-hover-target-id="m" title="carol@example.com">@Carol</span>');
    expect(reply!.recipients().map((r) => r.address)).toEqual(['grace.hopper@example.org']);
  });

  it('reads the Fluent v8 build through every fallback', () => {
    load('outlook-office-2026-11-v8-compose.html', '/mail/');
    const [compose] = collectComposes(controller.signal);
    expect(compose!.root.classList.contains('Ufd8v')).toBe(true);
    expect(compose!.sender()).toBe('ada.sender@contoso.fr');
    expect(compose!.subject()).toBe('Résultats');
    expect(compose!.recipients()).toEqual([{ name: 'Marie Curie', address: 'marie.curie@example.fr' }]);
    expect(compose!.toggleAnchor().getAttribute('name')).toBe('Send');
    expect(compose!.body().textContent).toBe('Bonjour Marie,');
  });
});

describe('the pixel', () => {
  it('goes at the end of the body, moves back there, and the editor hears both edits', () => {
    load('outlook-live-2026-11-mail.html');
    const [reply] = collectComposes(controller.signal);
    const body = reply!.body();
    const inputs: string[] = [];
    body.addEventListener('input', (e) => inputs.push((e as InputEvent).inputType));
    const img = document.createElement('img');
    outlook.insertPixel(reply!, img);
    expect(body.lastChild).toBe(img);
    body.append(document.createElement('div'));
    outlook.insertPixel(reply!, img);
    expect(body.lastChild).toBe(img);
    expect(body.querySelectorAll('img')).toHaveLength(1);
    outlook.insertPixel(reply!, img);
    expect(inputs).toHaveLength(2);
    outlook.removePixel(reply!, img);
    expect(body.contains(img)).toBe(false);
    expect(inputs).toHaveLength(3);
  });
});

describe('send detection', () => {
  function watched(): { compose: ComposeHandle; sends: SendEvent[] } {
    load('outlook-live-2026-11-mail.html');
    const [compose] = collectComposes(controller.signal);
    const sends: SendEvent[] = [];
    outlook.watchSend(compose!, (e) => sends.push(e), controller.signal);
    return { compose: compose!, sends };
  }

  it('catches a Send click before the page’s own handler', () => {
    const { compose, sends } = watched();
    const order: string[] = [];
    document.getElementById('appRoot')!.addEventListener('click', () => order.push(`page saw ${sends.length}`));
    const before = Date.now();
    compose.root.querySelector<HTMLButtonElement>('.fui-SplitButton__primaryActionButton')!.click();
    const after = Date.now();
    expect(sends).toHaveLength(1);
    expect(sends[0]!.scheduled).toBe(false);
    // Taken at the click: between the clock readings around it, however slow the machine.
    expect(sends[0]!.sendAt).toBeGreaterThanOrEqual(before);
    expect(sends[0]!.sendAt).toBeLessThanOrEqual(after);
    expect(order).toEqual(['page saw 1']);
  });

  it('catches Ctrl+Enter, Cmd+Enter and Alt+S, and not AltGr+S or plain Enter', () => {
    const { compose, sends } = watched();
    const body = compose.body();
    const press = (init: KeyboardEventInit) => body.dispatchEvent(new KeyboardEvent('keydown', { bubbles: true, ...init }));
    press({ key: 'Enter' });
    press({ key: 'ś', code: 'KeyS', altKey: true, ctrlKey: true });
    expect(sends).toHaveLength(0);
    press({ key: 'Enter', ctrlKey: true });
    expect(sends).toHaveLength(1);
    vi.useFakeTimers({ now: Date.now() + 2_000, toFake: ['Date'] });
    try {
      press({ key: 'Enter', metaKey: true });
      vi.setSystemTime(Date.now() + 2_000);
      press({ key: 's', code: 'KeyS', altKey: true });
    } finally {
      vi.useRealTimers();
    }
    expect(sends).toHaveLength(3);
  });

  it('counts Enter on a focused Send (keydown then click) once', () => {
    const { compose, sends } = watched();
    const send = compose.root.querySelector<HTMLButtonElement>('.fui-SplitButton__primaryActionButton')!;
    send.dispatchEvent(new KeyboardEvent('keydown', { bubbles: true, key: 'Enter', ctrlKey: true }));
    send.click();
    expect(sends).toHaveLength(1);
  });

  it('does not take the send-options menu button for Send', () => {
    const { compose, sends } = watched();
    compose.root.querySelector<HTMLButtonElement>('.fui-SplitButton__menuButton')!.click();
    expect(sends).toHaveLength(0);
  });

  it('reports a scheduled send when the compose leaves right after the schedule dialog', async () => {
    const { compose, sends } = watched();
    compose.root.querySelector<HTMLButtonElement>('.fui-SplitButton__menuButton')!.click();
    document.body.insertAdjacentHTML('beforeend', '<div role="menu"><div role="menuitem" id="m">Senden planen</div></div>');
    document.getElementById('m')!.click();
    document.body.insertAdjacentHTML('beforeend', '<div role="dialog"><button id="ok">OK</button></div>');
    document.getElementById('ok')!.click();
    expect(sends).toHaveLength(0);
    compose.root.remove();
    await flush();
    expect(sends).toEqual([{ sendAt: expect.any(Number), scheduled: true }]);
  });

  it('does not take a discard (confirmed in a dialog) after a cancelled scheduling for a send', async () => {
    const { compose, sends } = watched();
    compose.root.querySelector<HTMLButtonElement>('.fui-SplitButton__menuButton')!.click();
    document.body.insertAdjacentHTML('beforeend', '<div role="menu"><div role="menuitem" id="m">Schedule send</div></div>');
    document.getElementById('m')!.click();
    compose.root.querySelector<HTMLButtonElement>('[data-sim-action="discard"]')!.click();
    document.body.insertAdjacentHTML('beforeend', '<div role="dialog"><button id="yes">Discard</button></div>');
    document.getElementById('yes')!.click();
    compose.root.remove();
    await flush();
    expect(sends).toHaveLength(0);
  });

  it('does not report a send when a compose is discarded', async () => {
    const { compose, sends } = watched();
    let closed = 0;
    outlook.watchClose(compose, () => closed++, controller.signal);
    compose.root.querySelector<HTMLButtonElement>('[data-sim-action="discard"]')!.click();
    compose.root.remove();
    await flush();
    expect(closed).toBe(1);
    expect(sends).toHaveLength(0);
  });
});

describe('message views', () => {
  it('reports images of shown messages, never a compose’s, each image once', async () => {
    load('outlook-live-2026-11-mail.html');
    const seen: string[][] = [];
    outlook.watchMessageViews(document.body, (imgs) => seen.push(imgs.map((i) => i.getAttribute('src')!)), controller.signal);
    expect(seen).toEqual([['https://cdn.example.org/signature-logo.png']]);

    // A compose body holding a pixel is not a message view.
    const [reply] = collectComposes(controller.signal);
    reply!.body().insertAdjacentHTML('beforeend', '<img src="https://track.example/p/a/own.gif">');
    // A sent message opened in the reading pane, its image rendered a moment later.
    document.querySelector('[data-sim-pane="read"]')!.insertAdjacentHTML(
      'beforeend',
      '<div id="UniqueMessageBody_9" role="document" aria-label="Message body"><p>Hi</p></div>',
    );
    await flush();
    document.getElementById('UniqueMessageBody_9')!.insertAdjacentHTML('beforeend', '<div><img src="https://track.example/p/a/sent.gif"></div>');
    await flush();
    expect(seen).toEqual([['https://cdn.example.org/signature-logo.png'], ['https://track.example/p/a/sent.gif']]);

    // An image first shown blocked (no src), its src filled in when the content is allowed.
    document.getElementById('UniqueMessageBody_9')!.insertAdjacentHTML('beforeend', '<img id="late">');
    await flush();
    document.getElementById('late')!.setAttribute('src', 'https://track.example/p/a/late.gif');
    // And a compose's image changing src is still not a view.
    reply!.body().querySelector('img')!.setAttribute('src', 'https://track.example/p/a/own2.gif');
    await flush();
    expect(seen.at(-1)).toEqual(['https://track.example/p/a/late.gif']);
    expect(seen.flat()).not.toContain('https://track.example/p/a/own2.gif');
  });
});

describe('closing', () => {
  it('calls back once when a compose leaves the page, and not after abort', async () => {
    load('outlook-live-2026-11-mail.html');
    const a = newCompose(7);
    const b = newCompose(8);
    const composes = collectComposes(controller.signal);
    const closed: string[] = [];
    const other = new AbortController();
    outlook.watchClose(composes.find((c) => c.root === a)!, () => closed.push('a'), controller.signal);
    outlook.watchClose(composes.find((c) => c.root === b)!, () => closed.push('b'), other.signal);
    other.abort();
    a.remove();
    b.remove();
    await flush();
    document.body.append(document.createElement('div'));
    document.body.lastElementChild!.remove();
    await flush();
    expect(closed).toEqual(['a']);
  });
});

describe('a compose in the reading pane under the ribbon (outlook-live-2026-12-ribbon.html)', () => {
  /** What the fixture's "New mail" does: a compose from its template, in the reading pane. */
  function composeInReadingPane(): HTMLElement {
    load('outlook-live-2026-12-ribbon.html', '/mail/0/');
    const template = document.getElementById('sim-compose') as HTMLTemplateElement;
    const compose = template.content.firstElementChild!.cloneNode(true) as HTMLElement;
    document.querySelector('[data-sim-pane="read"]')!.append(compose);
    return compose;
  }
  const newMailButton = () => document.querySelector<HTMLElement>('[data-sim-action="new-mail"]')!;

  it('takes the compose for the root, never the page, and mounts beside its own Send', () => {
    const element = composeInReadingPane();
    const composes = collectComposes(controller.signal);
    expect(composes).toHaveLength(1);
    const [compose] = composes;
    expect(compose!.root).toBe(element);
    expect(compose!.root.contains(newMailButton())).toBe(false);
    const anchor = compose!.toggleAnchor();
    expect(element.contains(anchor)).toBe(true);
    expect(anchor.getAttribute('aria-label')).toBe('Send');
  });

  it('does not take New mail (a ribbon split button) for Send; the compose’s Send counts', () => {
    composeInReadingPane();
    const [compose] = collectComposes(controller.signal);
    const sends: SendEvent[] = [];
    outlook.watchSend(compose!, (e) => sends.push(e), controller.signal);
    newMailButton().click();
    expect(sends).toHaveLength(0);
    compose!.root.querySelector<HTMLElement>('[aria-label="Send"]')!.click();
    expect(sends).toHaveLength(1);
  });

  it('with the compose’s Send gone, stays inside the reading pane and says Send is missing', () => {
    const element = composeInReadingPane();
    element.querySelector('[aria-label="Send"]')!.remove();
    const { root, send } = composeRootOf(element.querySelector<HTMLElement>('[aria-multiline="true"]')!);
    expect(send).toBeNull();
    expect(root.contains(newMailButton())).toBe(false);
    expect(element.contains(root) || root === element).toBe(true);
  });

  it('finds a split Send by its name too, and not New mail above it', () => {
    const element = composeInReadingPane();
    element.querySelector('[aria-label="Send"]')!.outerHTML =
      '<div class="fui-SplitButton"><button type="button" class="fui-Button fui-SplitButton__primaryActionButton" title="Send (Ctrl+Enter)">Send</button>' +
      '<button type="button" class="fui-Button fui-SplitButton__menuButton" aria-label="More send options"></button></div>';
    const [compose] = collectComposes(controller.signal);
    expect(compose!.root).toBe(element);
    const sends: SendEvent[] = [];
    outlook.watchSend(compose!, (e) => sends.push(e), controller.signal);
    newMailButton().click();
    expect(sends).toHaveLength(0);
    element.querySelector<HTMLElement>('[title^="Send"]')!.click();
    expect(sends).toHaveLength(1);
    expect(compose!.toggleAnchor().classList.contains('fui-SplitButton')).toBe(true);
  });

  it('reads the own address from the mailbox root, with the account flyout never opened', () => {
    composeInReadingPane();
    expect(document.getElementById('mectrl_currentAccount_secondary')).toBeNull();
    const [compose] = collectComposes(controller.signal);
    expect(compose!.sender()).toBe('ada.sender@outlook.com');
  });
});

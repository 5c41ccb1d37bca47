// @vitest-environment happy-dom
/**
 * The shared compose controller (lib/compose.ts) against a minimal adapter: the
 * contract any webmail adapter relies on. The background is WXT's fakeBrowser
 * with a message listener that records what the content side asked.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { ContentScriptContext } from 'wxt/utils/content-script-context';
import { startComposeTracking } from '../../lib/compose';
import type { ComposeIdentity, ContentToBackground } from '../../lib/messages';
import { pixelBaseProblem } from '../../lib/setup';
import { SelectorError, type ComposeHandle, type Recipient, type SendEvent, type WebmailAdapter } from '../../lib/webmail/types';

const BASE = 'https://track.example/p/acct0123456789abcdef/';
const OTHER_TRACKER = 'oldOldOldOldOldOld0123';

interface FakeCompose {
  handle: ComposeHandle;
  root: HTMLElement;
  body: HTMLElement;
  send(at?: number): void;
  close(): void;
}

/** A tiny "webmail": each compose is a div with a body and a send button. */
function fakeSite(options: { broken?: 'anchor' | 'send' | 'body' } = {}) {
  let onCompose: ((c: ComposeHandle) => void) | null = null;
  let onView: ((images: HTMLImageElement[]) => void) | null = null;
  const closers = new Map<HTMLElement, () => void>();
  const sends = new Map<HTMLElement, (e: SendEvent) => void>();
  const editorEvents: string[] = [];
  const adapter: WebmailAdapter = {
    name: 'gmail',
    watchComposes(_root, cb, signal) {
      onCompose = cb;
      signal.addEventListener('abort', () => (onCompose = null));
    },
    watchSend(compose, cb, signal) {
      if (options.broken === 'send') throw new SelectorError('gmail', '.send', 'Send button');
      sends.set(compose.root, cb);
      signal.addEventListener('abort', () => sends.delete(compose.root));
    },
    insertPixel(compose, img) {
      compose.body().append(img);
      editorEvents.push('insert');
    },
    removePixel(_compose, img) {
      img.remove();
      editorEvents.push('remove');
    },
    watchMessageViews(_root, cb) {
      onView = cb;
    },
    watchClose(compose, cb, signal) {
      closers.set(compose.root, cb);
      signal.addEventListener('abort', () => closers.delete(compose.root));
    },
  };
  const open = (init: { recipients?: Recipient[]; sender?: string | null; bodyHtml?: string } = {}): FakeCompose => {
    const root = document.createElement('div');
    root.innerHTML = `<div class="body" contenteditable="true">${init.bodyHtml ?? '<div>Hello</div>'}</div><div class="bar"><button class="send">Send</button></div>`;
    document.body.append(root);
    const body = root.querySelector<HTMLElement>('.body')!;
    const handle: ComposeHandle = {
      root,
      body() {
        if (options.broken === 'body') throw new SelectorError('gmail', '.body', 'compose body');
        return body;
      },
      subject: () => 'Quarterly numbers',
      recipients: () => init.recipients ?? [{ name: 'Bob', address: 'bob@example.org' }],
      sender: () => (init.sender === undefined ? 'ada@example.com' : init.sender),
      threadUrl: () => 'https://mail.example/#thread/1',
      toggleAnchor() {
        if (options.broken === 'anchor') throw new SelectorError('gmail', '.bar .send', 'Send button');
        return root.querySelector<HTMLElement>('.send')!;
      },
    };
    onCompose!(handle);
    return {
      handle,
      root,
      body,
      send: (at = 1_764_201_600_000) => sends.get(root)?.({ sendAt: at, scheduled: false }),
      close() {
        root.remove();
        closers.get(root)?.();
      },
    };
  };
  return { adapter, open, editorEvents, showView: (images: HTMLImageElement[]) => onView!(images) };
}

let messages: ContentToBackground[];
/** What the background knows; it answers with its setup verdict, as lib/background.ts identity does. */
let identity: Omit<ComposeIdentity, 'setupProblem'>;
let ctx: ContentScriptContext;

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};
const toggleOf = (root: ParentNode) =>
  root.querySelector('openping-toggle')?.shadowRoot?.querySelector<HTMLButtonElement>('[data-openping="toggle"]') ?? null;
const pixels = (body: HTMLElement) => [...body.querySelectorAll('img')].filter((img) => img.src.startsWith(BASE));
const sentOf = () => messages.filter((m): m is Extract<ContentToBackground, { type: 'sent' }> => m.type === 'sent');

beforeEach(() => {
  fakeBrowser.reset();
  document.body.innerHTML = '';
  messages = [];
  identity = { pixelBase: BASE, trackByDefault: true, allowLocalServer: false };
  fakeBrowser.runtime.onMessage.addListener((message: unknown) => {
    const m = message as ContentToBackground;
    messages.push(m);
    return Promise.resolve(
      m.type === 'identity'
        ? { ...identity, setupProblem: pixelBaseProblem(identity.pixelBase, identity.allowLocalServer) }
        : { queued: true },
    );
  });
  ctx = new ContentScriptContext('gmail');
});

afterEach(() => {
  ctx.abort();
  vi.restoreAllMocks();
});

describe('compose controller', () => {
  it("keeps key presses on the switch from the page's keyboard shortcuts, and takes its host away on invalidation", async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    const reached: string[] = [];
    const listening = new AbortController();
    onTestFinished(() => listening.abort());
    const { signal } = listening;
    for (const type of ['keydown', 'keyup', 'keypress']) document.addEventListener(type, () => reached.push(type), { signal });
    for (const type of ['keydown', 'keyup', 'keypress']) toggle.dispatchEvent(new KeyboardEvent(type, { key: 'c', bubbles: true, composed: true }));
    expect(reached).toEqual([]);
    // A click still goes to the page's own listeners (only keys are held back).
    let clicked = false;
    document.addEventListener('click', () => (clicked = true), { signal });
    toggle.click();
    expect(clicked).toBe(true);
    ctx.abort();
    expect(compose.root.querySelector('openping-toggle')).toBeNull();
  });

  it('mounts one switch next to Send, on by default, and arms one pixel at the end of the body', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    expect(compose.root.querySelectorAll('openping-toggle')).toHaveLength(1);
    expect(compose.root.querySelector('.send')!.nextElementSibling!.tagName).toBe('OPENPING-TOGGLE');
    expect(toggle.getAttribute('role')).toBe('switch');
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    expect(toggle.title).toMatch(/opened/);
    const [pixel] = pixels(compose.body);
    expect(pixels(compose.body)).toHaveLength(1);
    expect(compose.body.lastChild).toBe(pixel);
    const tracker = pixel!.src.slice(BASE.length, -'.gif'.length);
    expect(tracker).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(pixel!.getAttribute('width')).toBe('1');
    expect(pixel!.getAttribute('height')).toBe('1');
    expect(pixel!.getAttribute('alt')).toBe('');
    expect(messages).toContainEqual({ type: 'armed', tracker });
  });

  it('puts the switch back when the site rebuilds its send bar', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const bar = compose.root.querySelector('.bar')!;
    bar.innerHTML = '<button class="send">Send</button>';
    await flush();
    expect(compose.root.querySelectorAll('openping-toggle')).toHaveLength(1);
    expect(compose.root.querySelector('.send')!.nextElementSibling!.tagName).toBe('OPENPING-TOGGLE');
    const toggle = toggleOf(compose.root)!;
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    toggle.click();
    await flush();
    expect(pixels(compose.body)).toHaveLength(0);
  });

  it('follows the default when it is off, and the switch adds and removes the pixel', async () => {
    identity.trackByDefault = false;
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    expect(pixels(compose.body)).toHaveLength(0);
    toggle.click();
    await flush();
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    const tracker = pixels(compose.body)[0]!.src.slice(BASE.length, -4);
    toggle.click();
    await flush();
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    expect(pixels(compose.body)).toHaveLength(0);
    expect(messages.filter((m) => m.type !== 'identity')).toEqual([
      { type: 'armed', tracker },
      { type: 'disarmed', tracker },
    ]);
    compose.send();
    await flush();
    expect(sentOf()).toEqual([]);
  });

  it('at send, puts a moved pixel back at the end and reports the message as sent', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const [pixel] = pixels(compose.body);
    const tracker = pixel!.src.slice(BASE.length, -4);
    // The body observer would move it back on its own; take the observer's place
    // by moving it within one synchronous step before send.
    compose.body.prepend(pixel!);
    compose.send(1_764_201_600_123);
    expect(compose.body.lastChild).toBe(pixel);
    await flush();
    expect(sentOf()).toEqual([
      {
        type: 'sent',
        email: {
          tracker,
          webmail: 'gmail',
          subject: 'Quarterly numbers',
          recipients: [{ name: 'Bob', address: 'bob@example.org' }],
          sentAt: 1_764_201_600_123,
          threadUrl: 'https://mail.example/#thread/1',
        },
      },
    ]);
  });

  it('moves the pixel back to the end when content lands after it', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const [pixel] = pixels(compose.body);
    const signature = document.createElement('div');
    signature.textContent = '-- Ada';
    compose.body.append(signature);
    await flush();
    expect(compose.body.lastChild).toBe(pixel);
    expect(site.editorEvents.filter((e) => e === 'insert')).toHaveLength(2);
  });

  it('does not track a note to self', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open({ recipients: [{ name: null, address: 'ADA@example.com' }], sender: 'ada@example.com' });
    await flush();
    const tracker = pixels(compose.body)[0]!.src.slice(BASE.length, -4);
    compose.send();
    await flush();
    expect(pixels(compose.body)).toHaveLength(0);
    expect(sentOf()).toEqual([]);
    expect(messages).toContainEqual({ type: 'disarmed', tracker });
  });

  it('removes older pixels of this account quoted in the body, keeps a reopened draft’s own', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const draftTracker = 'draftDraftDraftDraft01';
    const compose = site.open({
      bodyHtml: `<div>Reply</div><blockquote><img src="https://ci3.googleusercontent.com/meips/x=s0-d-e1-ft#${BASE}${OTHER_TRACKER}.gif"><img src="${BASE}${OTHER_TRACKER}.gif"></blockquote><img src="${BASE}${draftTracker}.gif">`,
    });
    await flush();
    expect(pixels(compose.body).map((p) => p.src)).toEqual([`${BASE}${OTHER_TRACKER}.gif`, `${BASE}${draftTracker}.gif`]);
    expect(messages).toContainEqual({ type: 'armed', tracker: draftTracker });
    compose.send();
    await flush();
    expect(compose.body.querySelectorAll('img')).toHaveLength(1);
    expect(compose.body.querySelector('img')!.src).toBe(`${BASE}${draftTracker}.gif`);
    expect(sentOf().map((m) => m.email.tracker)).toEqual([draftTracker]);
  });

  it('without an account the switch shows setup and the message goes untracked, until the account exists', async () => {
    identity.pixelBase = null;
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    expect(toggle.dataset.status).toBe('setup');
    expect(toggle.textContent).toMatch(/Not tracking/);
    expect(toggle.title).toMatch(/no account/);
    // SPEC §6: the switch shows on exactly when a pixel goes out.
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    expect(pixels(compose.body)).toHaveLength(0);
    compose.send();
    await flush();
    expect(sentOf()).toEqual([]);

    identity.pixelBase = BASE;
    await fakeBrowser.storage.local.set({ identity: { pixelBase: BASE } });
    await flush();
    expect(toggle.dataset.status).toBe('ready');
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    expect(pixels(compose.body)).toHaveLength(1);
  });

  it('a local http pixel URL is setup, not tracked, until "Allow a local server" is on', async () => {
    const local = 'http://localhost:8787/p/acct0123456789abcdef/';
    identity.pixelBase = local;
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    expect(toggle.dataset.status).toBe('setup');
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    expect(toggle.title).toMatch(/localhost:8787.*cannot load it/);
    // The same reason reaches screen readers through the description.
    const describedBy = toggle.getAttribute('aria-describedby')!;
    expect(toggle.getRootNode() instanceof ShadowRoot && (toggle.getRootNode() as ShadowRoot).getElementById(describedBy)?.textContent).toBe(toggle.title);
    expect(compose.body.querySelectorAll('img')).toHaveLength(0);
    compose.send();
    await flush();
    expect(sentOf()).toEqual([]);
    expect(compose.body.querySelectorAll('img')).toHaveLength(0);

    identity.allowLocalServer = true;
    await fakeBrowser.storage.local.set({ settings: { allowLocalServer: true } });
    await flush();
    expect(toggle.dataset.status).toBe('ready');
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    expect([...compose.body.querySelectorAll('img')].map((img) => img.src.startsWith(local))).toEqual([true]);
  });

  it('offline with a local pixel URL is still setup: nothing is tracked', async () => {
    identity.pixelBase = 'http://127.0.0.1:8787/p/acct0123456789abcdef/';
    await fakeBrowser.storage.local.set({ status: { state: 'offline', message: 'down', lastOkAt: null, retryAt: null, failures: 1 } });
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    expect(toggleOf(compose.root)!.dataset.status).toBe('setup');
    expect(compose.body.querySelectorAll('img')).toHaveLength(0);
  });

  it('while the server cannot be reached the switch says registration is pending, and the pixel still goes', async () => {
    await fakeBrowser.storage.local.set({ status: { state: 'offline', message: 'down', lastOkAt: null, retryAt: null, failures: 1 } });
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    const toggle = toggleOf(compose.root)!;
    expect(toggle.dataset.status).toBe('offline');
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    expect(toggle.title).toMatch(/cannot be reached/);
    expect(pixels(compose.body)).toHaveLength(1);
    await fakeBrowser.storage.local.set({ status: { state: 'ok', message: null, lastOkAt: 1, retryAt: null, failures: 0 } });
    await flush();
    expect(toggle.dataset.status).toBe('ready');
    compose.send();
    await flush();
    expect(sentOf()).toHaveLength(1);
  });

  it('a broken selector makes only that compose untracked, says so on the switch, and logs once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const site = fakeSite({ broken: 'send' });
    startComposeTracking(site.adapter, ctx);
    const first = site.open();
    const second = site.open();
    await flush();
    for (const compose of [first, second]) {
      const toggle = toggleOf(compose.root)!;
      expect(toggle.getAttribute('aria-checked')).toBe('false');
      expect(toggle.getAttribute('aria-disabled')).toBe('true');
      expect(toggle.textContent).toBe('Gmail changed — tracking unavailable');
      toggle.click();
      await flush();
      expect(toggle.getAttribute('aria-checked')).toBe('false');
      expect(pixels(compose.body)).toHaveLength(0);
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]!.join(' '))).toMatch(/gmail/);
  });

  it('without its anchor the switch still shows, at the end of the compose, why it is untracked', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const site = fakeSite({ broken: 'anchor' });
    startComposeTracking(site.adapter, ctx);
    const compose = site.open();
    await flush();
    expect(compose.root.lastElementChild!.tagName).toBe('OPENPING-TOGGLE');
    expect(toggleOf(compose.root)!.dataset.status).toBe('broken');
    expect(pixels(compose.body)).toHaveLength(0);
  });

  it('a closed compose leaves nothing behind; an invalidated context removes every switch', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    const closed = site.open();
    const kept = site.open();
    await flush();
    const tracker = pixels(closed.body)[0]!.src.slice(BASE.length, -4);
    closed.close();
    await flush();
    expect(closed.root.querySelector('openping-toggle')).toBeNull();
    closed.send();
    await flush();
    expect(sentOf()).toEqual([]);
    // A closed compose stays a draft in Gmail: its tracker is not disarmed.
    expect(messages).not.toContainEqual({ type: 'disarmed', tracker });

    expect(kept.root.querySelector('openping-toggle')).not.toBeNull();
    expect(pixels(kept.body)).toHaveLength(1);
    ctx.abort();
    await flush();
    expect(kept.root.querySelector('openping-toggle')).toBeNull();
    // Nobody is left to register it as sent, and no switch shows it: the pixel goes too.
    expect(pixels(kept.body)).toHaveLength(0);
  });

  it('reports the own pixels a message view shows, direct or proxied, once each', async () => {
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    await flush();
    const view = document.createElement('div');
    view.innerHTML = `<img src="https://ci3.googleusercontent.com/meips/AAA=s0-d-e1-ft#${BASE}aaaaaaaaaaaaaaaaaaaaaa.gif"><img src="${BASE}bbbbbbbbbbbbbbbbbbbbbb.gif"><img src="https://other.example/p/x/cccccccccccccccccccccc.gif"><img src="https://ci3.googleusercontent.com/meips/BBB=s0-d-e1-ft#https://bob.example/logo.png">`;
    document.body.append(view);
    const images = [...view.querySelectorAll('img')];
    const before = Date.now();
    site.showView(images);
    site.showView(images);
    await flush();
    const views = messages.filter((m): m is Extract<ContentToBackground, { type: 'selfView' }> => m.type === 'selfView');
    expect(views).toHaveLength(1);
    expect(views[0]!.trackers).toEqual(['aaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbb']);
    expect(views[0]!.at).toBeGreaterThanOrEqual(before);
  });

  it('reports views shown before the background answered once it has', async () => {
    identity.pixelBase = null;
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    await flush();
    const img = document.createElement('img');
    img.src = `${BASE}aaaaaaaaaaaaaaaaaaaaaa.gif`;
    document.body.append(img);
    site.showView([img]);
    await flush();
    expect(messages.some((m) => m.type === 'selfView')).toBe(false);
    identity.pixelBase = BASE;
    await fakeBrowser.storage.local.set({ identity: { pixelBase: BASE } });
    await flush();
    expect(messages).toContainEqual(expect.objectContaining({ type: 'selfView', trackers: ['aaaaaaaaaaaaaaaaaaaaaa'] }));
  });

  it('holds back only images still on the page while there is no account, each once', async () => {
    identity.pixelBase = null;
    const site = fakeSite();
    startComposeTracking(site.adapter, ctx);
    await flush();
    const gone = document.createElement('img');
    gone.src = `${BASE}gggggggggggggggggggggg.gif`;
    document.body.append(gone);
    site.showView([gone]);
    gone.remove();
    const kept = document.createElement('img');
    kept.src = `${BASE}kkkkkkkkkkkkkkkkkkkkkk.gif`;
    document.body.append(kept);
    for (let i = 0; i < 3; i++) site.showView([kept]);
    identity.pixelBase = BASE;
    await fakeBrowser.storage.local.set({ identity: { pixelBase: BASE } });
    await flush();
    const views = messages.filter((m): m is Extract<ContentToBackground, { type: 'selfView' }> => m.type === 'selfView');
    expect(views.map((v) => v.trackers)).toEqual([['kkkkkkkkkkkkkkkkkkkkkk']]);
  });
});

/**
 * The compose controller shared by every webmail (Gmail, Outlook): for each
 * compose the adapter finds, it mounts the Track switch, keeps the pixel in
 * the body while the switch is on, registers the tracker with the background
 * at send, and reports the sender's own views of tracked mail. Everything
 * site-specific goes through the `WebmailAdapter`; nothing here waits on the
 * network, so a message always sends.
 */
import { effect, signal, type Signal } from '@preact/signals';
import { Fragment, h, render } from 'preact';
import { browser } from 'wxt/browser';
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { TrackToggle, toggleCss, type ToggleState, type ToggleStatus } from '../components/TrackToggle';
import { ReminderMenu, isComplete, reminderChoiceFor, reminderCss } from '../components/ReminderMenu';
import { randomId } from './ids';
import { send, type ComposeIdentity, type ContentToBackground, type ResponseOf } from './messages';
import { createPixel, isAtEnd, ownPixels, trackerFromSrc } from './pixel';
import { loadStatus, STORAGE_KEYS, type ConnectionStatus } from './settings';
import type { SetupProblem } from './setup';
import { SelectorError, type ComposeHandle, type SendEvent, type WebmailAdapter, type Webmail } from './webmail/types';

const SITE_NAMES: Record<Webmail, string> = { gmail: 'Gmail', outlook: 'Outlook' };

/**
 * The switch's `data-status` (SPEC §6). `setup` (no account, or a pixel URL
 * recipients cannot reach while local servers are not allowed) wins over
 * `offline`: nothing is tracked then, whether the server answers or not.
 */
export function switchStatus(input: { broken: boolean; setupProblem: SetupProblem | null; offline: boolean }): ToggleStatus {
  if (input.broken) return 'broken';
  if (input.setupProblem) return 'setup';
  return input.offline ? 'offline' : 'ready';
}

/** The pixel URL to track through, or null when the switch's status is `setup` (no pixel may go out). */
function usableBase(identity: ComposeIdentity | null): string | null {
  return !identity || identity.setupProblem ? null : identity.pixelBase;
}

/** What one page needs to know, shared by all its composes. */
interface PageEnv {
  adapter: WebmailAdapter;
  ctx: ContentScriptContext;
  /** null until the background answers; `pixelBase` stays null until an account exists. */
  identity: Signal<ComposeIdentity | null>;
  /** True while the background cannot reach the tracking server (its registrations wait in the outbox). */
  offline: Signal<boolean>;
  refreshIdentity(): void;
  /** Told the tracker of each tracked send (the page may show the new message's ids next). */
  onTrackedSend?: (tracker: string) => void;
}

/**
 * Runs OpenPing in a webmail page until `ctx` is invalidated (extension
 * update or reload): every listener, observer and UI hangs off `ctx.signal`.
 */
export function startComposeTracking(
  adapter: WebmailAdapter,
  ctx: ContentScriptContext,
  root: ParentNode = document,
  onTrackedSend?: (tracker: string) => void,
): void {
  const env = { ...createPageEnv(adapter, ctx), onTrackedSend };
  adapter.watchComposes(root, (compose) => trackCompose(compose, env), ctx.signal);
  watchSelfViews(root, env);
}

function createPageEnv(adapter: WebmailAdapter, ctx: ContentScriptContext): PageEnv {
  const identity = signal<ComposeIdentity | null>(null);
  const offline = signal(false);
  const readStatus = (status: ConnectionStatus | undefined) => {
    offline.value = status !== undefined && (status.state === 'offline' || status.state === 'unauthorized' || status.state === 'error');
  };
  const refreshIdentity = () => {
    request({ type: 'identity' }).then((answer) => {
      if (answer && !ctx.signal.aborted) identity.value = answer;
    });
  };
  // The account is created by the background, possibly after this page loaded;
  // it stores identity and settings in storage.local (lib/settings.ts).
  // The connection status is the background's record of how the server answers
  // (lib/settings.ts); reading it here needs no message.
  const onStorage = (changes: Record<string, { newValue?: unknown }>, area: string) => {
    if (area !== 'local') return;
    if (STORAGE_KEYS.identity in changes || STORAGE_KEYS.settings in changes) refreshIdentity();
    if (STORAGE_KEYS.status in changes) readStatus(changes[STORAGE_KEYS.status]!.newValue as ConnectionStatus | undefined);
  };
  browser.storage.onChanged.addListener(onStorage);
  ctx.onInvalidated(() => browser.storage.onChanged.removeListener(onStorage));
  refreshIdentity();
  loadStatus().then(readStatus, () => undefined);
  return { adapter, ctx, identity, offline, refreshIdentity };
}

/** Sends to the background without ever throwing: a dead or updating extension must not break the page. */
async function request<M extends ContentToBackground>(message: M): Promise<ResponseOf<M> | null> {
  try {
    return ((await send(message)) as ResponseOf<M> | undefined) ?? null;
  } catch {
    // "Extension context invalidated" or no listener yet: expected (STYLE §4); the
    // background's outbox is the durable part, nothing here can be retried usefully.
    return null;
  }
}

const logged = new Set<string>();
/** A broken selector is logged once per page, not once per compose (STYLE §3). */
function logOnce(adapter: Webmail, error: unknown): void {
  const key = error instanceof SelectorError ? `${adapter}:${error.selector}` : `${adapter}:${String(error)}`;
  if (logged.has(key)) return;
  logged.add(key);
  console.warn(`[openping] ${adapter}: tracking unavailable in this compose —`, error);
}

function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function trackCompose(compose: ComposeHandle, env: PageEnv): void {
  const { adapter, ctx, identity } = env;
  const closed = new AbortController();
  /** Aborts when this compose leaves the page or the content script is invalidated. */
  const alive = AbortSignal.any([ctx.signal, closed.signal]);
  const site = SITE_NAMES[adapter.name];
  const state = signal<ToggleState>({ on: identity.peek()?.trackByDefault ?? true, status: 'setup', reason: null });
  let userChose = false;
  let broken = false;
  let img: HTMLImageElement | null = null;
  let tracker: string | null = null;

  const breakCompose = (error: unknown) => {
    logOnce(adapter.name, error);
    broken = true;
    if (img && tracker) {
      const [gone, goneTracker] = [img, tracker];
      try {
        adapter.removePixel(compose, gone);
      } catch {
        gone.remove();
      }
      void request({ type: 'disarmed', tracker: goneTracker });
    }
    img = null;
    tracker = null;
    state.value = { on: false, status: 'broken', reason: null };
  };
  /** Runs a step that touches the site's DOM; a SelectorError breaks only this compose. */
  const guarded = <T>(step: () => T): T | undefined => {
    if (broken) return undefined;
    try {
      return step();
    } catch (error) {
      breakCompose(error);
      return undefined;
    }
  };

  /** Makes the body match the switch: one pixel at the end when on and the setup can track, none otherwise. */
  const reconcile = () => {
    const base = usableBase(identity.peek());
    const want = !broken && state.peek().on && base !== null;
    if (want && !img) {
      guarded(() => {
        const body = compose.body();
        // A draft reopened from Drafts (or after Undo send) already holds its pixel: keep its tracker.
        const existing = ownPixels(body, base!).filter((p) => isAtEnd(body, p)).pop();
        const id = existing ? trackerFromSrc(existing.getAttribute('src')!, base!)! : randomId();
        const pixel = existing ?? createPixel(body.ownerDocument, base!, id);
        adapter.insertPixel(compose, pixel);
        [img, tracker] = [pixel, id];
        void request({ type: 'armed', tracker: id });
      });
    } else if (!want && img && tracker) {
      const [gone, goneTracker] = [img, tracker];
      img = null;
      tracker = null;
      guarded(() => adapter.removePixel(compose, gone));
      void request({ type: 'disarmed', tracker: goneTracker });
    }
  };

  const onToggle = () => {
    userChose = true;
    state.value = { ...state.peek(), on: !state.peek().on };
    reconcile();
  };

  const onSend = (event: SendEvent) => {
    const base = usableBase(identity.peek());
    if (broken || !base) return;
    guarded(() => {
      const body = compose.body();
      // Quoted earlier messages may carry this account's older pixels; sent on,
      // they would count the new recipient's reading as opens of the old mail.
      for (const old of ownPixels(body, base)) if (old !== img) adapter.removePixel(compose, old);
      if (!img || !tracker) return;
      const recipients = compose.recipients();
      const me = compose.sender();
      if (me && recipients.length > 0 && recipients.every((r) => sameAddress(r.address, me))) {
        // A note to self: the only reader is the sender, whose views never count.
        adapter.removePixel(compose, img);
        void request({ type: 'disarmed', tracker });
        img = null;
        tracker = null;
        return;
      }
      if (!isAtEnd(body, img)) adapter.insertPixel(compose, img);
      // Issue 19: the follow-up chosen in the menu next to the switch (the background re-bases it on the send time).
      const remind = reminderChoiceFor(compose.root).peek();
      if (isComplete(remind)) void request({ type: 'setReminder', tracker, ...remind });
      void request({
        type: 'sent',
        email: {
          tracker,
          webmail: adapter.name,
          subject: compose.subject(),
          recipients,
          sentAt: event.sendAt,
          threadUrl: compose.threadUrl(),
          ids: compose.ids?.(),
        },
      });
      env.onTrackedSend?.(tracker);
    });
  };

  try {
    adapter.watchClose(compose, () => closed.abort(), alive);
  } catch (error) {
    logOnce(adapter.name, error);
  }
  // Without its usual place the switch still shows, at the compose's end, why this compose is untracked.
  const anchorFor = (): HTMLElement => {
    try {
      return compose.toggleAnchor();
    } catch (error) {
      if (!broken) breakCompose(error);
      return compose.root;
    }
  };
  anchorFor();
  // A failure to mount is logged, never thrown into the page (also when broken: the switch says why).
  try {
    mountToggle(compose.root, anchorFor, state, site, onToggle, alive);
  } catch (error) {
    logOnce(adapter.name, error);
  }
  guarded(() => adapter.watchSend(compose, onSend, alive));
  guarded(() => keepPixelAtEnd(compose, adapter, () => img, alive));

  // An extension update or reload takes the switch away; a pixel the user can no
  // longer see or turn off, and that would never be registered as sent, goes too.
  alive.addEventListener(
    'abort',
    () => {
      if (!ctx.signal.aborted || !img) return;
      try {
        adapter.removePixel(compose, img);
      } catch {
        img.remove();
      }
    },
    { once: true },
  );

  const stopEffect = effect(() => {
    const known = identity.value;
    const unreachable = env.offline.value;
    if (broken) return;
    const current = state.peek();
    const on = userChose || !known ? current.on : known.trackByDefault;
    // Before the background answers, the switch waits in `setup` (no pixel goes out yet).
    const setupProblem = known ? known.setupProblem : { code: 'no-account' as const, message: '' };
    state.value = {
      on,
      status: switchStatus({ broken: false, setupProblem, offline: unreachable }),
      reason: known?.setupProblem?.message ?? null,
    };
    reconcile();
  });
  alive.addEventListener('abort', stopEffect, { once: true });
  env.refreshIdentity();
}

/**
 * The user may type after the pixel, paste below it or delete it: put it back
 * at the end so the site's draft model always holds it before Send (gmail.js #802).
 */
function keepPixelAtEnd(
  compose: ComposeHandle,
  adapter: WebmailAdapter,
  current: () => HTMLImageElement | null,
  signal: AbortSignal,
): void {
  const body = compose.body();
  const observer = new MutationObserver(() => {
    const img = current();
    if (img && !isAtEnd(body, img)) adapter.insertPixel(compose, img);
  });
  observer.observe(body, { childList: true, subtree: true, characterData: true });
  signal.addEventListener('abort', () => observer.disconnect(), { once: true });
}

/**
 * Mounts the switch in a shadow root of its own, as wxt's createShadowRootUi did (wxt 0.21
 * utils/content-script-ui/shadow-root.mjs and @webext-core/isolated-element: a custom element host,
 * `<html><head><style></head><body>` inside, key events stopped at the body, `:host{all:initial}`).
 * Written here because that helper, with the auto-mount, anchor lookup and name checks this switch
 * never uses, cost each content script ~3 KB gzipped of its 25 KB budget (issues 16, 17).
 */
function mountToggle(
  root: HTMLElement,
  anchorFor: () => HTMLElement,
  state: Signal<ToggleState>,
  site: string,
  onToggle: () => void,
  signal: AbortSignal,
): void {
  if (signal.aborted) return;
  const doc = root.ownerDocument;
  const host = doc.createElement('openping-toggle');
  // Playwright and assistive tech reach into open roots; the page's scripts never look.
  const shadow = host.attachShadow({ mode: 'open' });
  const html = doc.createElement('html');
  const head = doc.createElement('head');
  const body = doc.createElement('body');
  const style = doc.createElement('style');
  // The page's styles must not reach in through inheritance (createShadowRootUi's reset).
  style.textContent = `:host{all:initial !important;}\n${toggleCss}${reminderCss}`;
  head.append(style);
  html.append(head, body);
  shadow.append(html);
  // Gmail's keyboard shortcuts must not fire while the switch has focus.
  for (const type of ['keydown', 'keyup', 'keypress']) body.addEventListener(type, (event) => event.stopPropagation());
  const mount = () => {
    // Looked up again at every mount: the site may have rebuilt its send bar.
    const anchor = anchorFor();
    if (anchor === root) anchor.append(host);
    else anchor.after(host);
    render(h(Fragment, null, h(TrackToggle, { state, site, onToggle }), h(ReminderMenu, { choice: reminderChoiceFor(root) })), body);
  };
  mount();
  // A site re-rendering its send bar drops the switch with it: put it back.
  const observer = new MutationObserver(() => {
    if (!host.isConnected && root.isConnected) mount();
  });
  observer.observe(root, { childList: true, subtree: true });
  signal.addEventListener(
    'abort',
    () => {
      observer.disconnect();
      render(null, body);
      host.remove();
    },
    { once: true },
  );
}

function watchSelfViews(root: ParentNode, env: PageEnv): void {
  const reported = new WeakSet<HTMLImageElement>();
  // A Set, pruned of images that left the page: with no account for hours (server
  // down since install), an array took every image Gmail showed, repeats included,
  // and kept them all alive.
  const backlog = new Set<HTMLImageElement>();
  const report = (images: HTMLImageElement[]) => {
    const base = env.identity.peek()?.pixelBase;
    if (!base) {
      for (const img of backlog) if (!img.isConnected) backlog.delete(img);
      for (const img of images) if (img.isConnected) backlog.add(img);
      return;
    }
    const trackers = new Set<string>();
    for (const img of images) {
      if (reported.has(img)) continue;
      const tracker = trackerFromSrc(img.getAttribute('src') ?? '', base);
      if (!tracker) continue;
      reported.add(img);
      trackers.add(tracker);
    }
    if (trackers.size > 0) void request({ type: 'selfView', trackers: [...trackers], at: Date.now() });
  };
  env.adapter.watchMessageViews(root, report, env.ctx.signal);
  // Views shown before the background answered are reported once it has.
  const stop = effect(() => {
    if (!env.identity.value?.pixelBase || backlog.size === 0) return;
    const waiting = [...backlog].filter((img) => img.isConnected);
    backlog.clear();
    report(waiting);
  });
  env.ctx.onInvalidated(stop);
}

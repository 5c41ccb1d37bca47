// @vitest-environment happy-dom
/**
 * The popup's "Track a message from another app" when the browser refuses the clipboard (issue 20):
 * the email is still registered, the `<img>` is shown as selectable text, and "Copy again" writes the
 * same pixel once the clipboard works. Without an account there is nothing to copy, and it says so.
 */
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { AnyAppPanel } from '../../components/popup/AnyApp';
import { pixelHtml } from '../../lib/anyapp';
import type { PopupToBackground } from '../../lib/messages';
import { saveIdentity } from '../../lib/settings';
import { createAnyAppModel } from '../../lib/state/anyapp';

const BASE = 'https://track.example/p/AccountAccount0001/';

/** happy-dom has no ClipboardItem: a stand-in that keeps what it was given. */
class FakeClipboardItem {
  constructor(readonly items: Record<string, Blob>) {}
}

let messages: PopupToBackground[];
let writes: Array<Record<string, string>>;
let refuse: boolean;

const clipboard = {
  async write(items: FakeClipboardItem[]) {
    if (refuse) throw new DOMException('Document is not focused.', 'NotAllowedError');
    const texts: Record<string, string> = {};
    for (const [type, blob] of Object.entries(items[0]!.items)) texts[type] = await blob.text();
    writes.push(texts);
  },
} as unknown as Clipboard;

beforeEach(async () => {
  fakeBrowser.reset();
  (globalThis as unknown as { ClipboardItem: unknown }).ClipboardItem = FakeClipboardItem;
  messages = [];
  writes = [];
  refuse = true;
  fakeBrowser.runtime.onMessage.addListener((message: unknown) => {
    messages.push(message as PopupToBackground);
    return Promise.resolve({ ok: true, error: null });
  });
  document.body.innerHTML = '<div id="app"></div>';
});

describe('copying when the clipboard is refused', () => {
  it('registers the email, shows the <img> to copy by hand, and "Copy again" writes the same pixel', async () => {
    await saveIdentity({ server: 'https://track.example', account: 'AccountAccount0001', token: 't'.repeat(43), pixelBase: BASE });
    const model = createAnyAppModel(() => clipboard);
    await model.load();
    model.open.value = true;
    model.label.value = 'Offer for Ada';
    const root = document.getElementById('app')!;
    await act(() => render(<AnyAppPanel model={model} />, root));

    await act(() => root.querySelector<HTMLButtonElement>('[data-action="copy-pixel"]')!.click());
    await expect.poll(() => model.phase.value).toBe('refused');
    await expect.poll(() => messages.length).toBe(1);
    await act(async () => undefined);

    const registered = messages.filter((m): m is Extract<PopupToBackground, { type: 'trackOtherApp' }> => m.type === 'trackOtherApp');
    expect(registered).toHaveLength(1);
    expect(registered[0]).toMatchObject({ label: 'Offer for Ada', autoSend: true });
    const tracker = registered[0]!.tracker;
    expect(model.phase.value).toBe('refused');
    const refused = root.querySelector('[data-openping="any-app-refused"]');
    expect(refused?.textContent).toContain('Document is not focused.');
    expect(root.querySelector<HTMLTextAreaElement>('[data-openping="any-app-markup"]')!.value).toBe(pixelHtml(BASE, tracker));
    expect(writes).toEqual([]);

    refuse = false;
    await act(() => root.querySelector<HTMLButtonElement>('[data-action="copy-again"]')!.click());
    await expect.poll(() => model.phase.value).toBe('copied');
    await act(async () => undefined);
    expect(writes).toHaveLength(1);
    expect(writes[0]!['text/html']).toBe(pixelHtml(BASE, tracker));
    expect(writes[0]!['text/plain']).toContain('OpenPing tracking pixel');
    expect(model.phase.value).toBe('copied');
    expect(root.querySelector('[data-openping="any-app-refused"]')).toBeNull();
    // Copying again registers nothing new.
    expect(messages.filter((m) => m.type === 'trackOtherApp')).toHaveLength(1);
  });

  it('without an account there is no pixel: the button is off and the popup says why', async () => {
    const model = createAnyAppModel(() => clipboard);
    await model.load();
    model.open.value = true;
    const root = document.getElementById('app')!;
    await act(() => render(<AnyAppPanel model={model} />, root));
    expect(root.querySelector<HTMLButtonElement>('[data-action="copy-pixel"]')!.disabled).toBe(true);
    expect(root.textContent).toContain('no account on the tracking server yet');
    expect(messages).toEqual([]);
  });
});

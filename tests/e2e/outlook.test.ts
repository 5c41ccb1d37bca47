/**
 * Outlook on the web end to end: real Chromium with the built extension, the
 * real tracking server, and the saved Outlook fixtures served at the real
 * Outlook URLs (the only mocked part).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_PUBLIC_URL } from './env';
import {
  fetchTracker,
  launchExtension,
  localEmail,
  removeServerData,
  startServer,
  type ExtensionSession,
  type TestServer,
  type TrackerView,
} from './harness';
import { OutlookPage, pixelsIn, routeOutlook, type OutlookHost } from './pages/outlook';

interface Identity {
  server: string;
  account: string;
  token: string;
  pixelBase: string;
}

describe('Outlook on the web with the built extension and the real server', () => {
  let server: TestServer;
  let session: ExtensionSession;
  let identity: Identity;
  const pages: OutlookPage[] = [];
  let n = 0;
  const subject = (what: string) => `${what} #${++n} ${Date.now()}`;

  async function open(host: OutlookHost, path?: string): Promise<OutlookPage> {
    const page = await OutlookPage.open(session.context, host, path);
    pages.push(page);
    return page;
  }

  const tracker = (id: string) => fetchTracker(identity.token, id);

  async function expectRegisteredSent(id: string, timeout = 10_000): Promise<TrackerView> {
    await expect.poll(async () => (await tracker(id)).body?.state, { timeout, interval: 200 }).toBe('sent');
    return (await tracker(id)).body!;
  }

  const localRecord = (id: string) => localEmail(session.worker, id);

  /** The one pixel a sent body must hold: `<img src="<pixelBase><tracker>.gif" width="1" height="1" alt="">` (SPEC §6). */
  function onePixel(html: string): string {
    const pixels = pixelsIn(html, identity.pixelBase);
    expect(pixels, `pixels in ${html}`).toHaveLength(1);
    const { tag, tracker } = pixels[0]!;
    expect(tag).toMatch(/\swidth="1"/);
    expect(tag).toMatch(/\sheight="1"/);
    expect(tag).toMatch(/\salt=""/);
    return tracker;
  }

  beforeAll(async () => {
    server = await startServer();
    session = await launchExtension();
    await routeOutlook(session.context);
    // SPEC §6: on first start the background creates the account by itself.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stored = await session.worker.evaluate(async () => (await chrome.storage.local.get('identity')).identity ?? null);
      if (stored) {
        identity = stored as Identity;
        break;
      }
      if (Date.now() > deadline) throw new Error('The background created no account on the tracking server within 15 s of its first start.');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(identity.pixelBase).toBe(`${E2E_PUBLIC_URL}/p/${identity.account}/`);
  });

  afterAll(async () => {
    for (const p of pages) await p.page.close().catch(() => {});
    await session?.close();
    await server?.stop();
    if (server) removeServerData(server);
  });

  it('switch on (the default): Send leaves exactly one pixel in the body, registered sent with the send time', async () => {
    const outlook = await open('outlook.live.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    expect(await compose.toggle().getAttribute('role')).toBe('switch');
    const title = subject('Lunch on Friday?');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Shall we meet at noon?' });
    const before = Date.now();
    await compose.clickSend();

    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    const sent = (await outlook.sentWithSubject(title))!;
    expect(sent.html).toContain('Shall we meet at noon?');
    const id = onePixel(sent.html);
    const view = await expectRegisteredSent(id);
    expect(view.sentAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(view.sentAt).toBeLessThanOrEqual(Date.now());
    await expect.poll(() => compose.root.count()).toBe(0);
    // Subject, recipients and a link back stay in the browser (never sent to the server).
    expect(await localRecord(id)).toMatchObject({
      tracker: id,
      webmail: 'outlook',
      subject: title,
      recipients: [{ name: null, address: 'grace.hopper@example.org' }],
      threadUrl: 'https://outlook.live.com/mail/0/sentitems',
      tracking: 'sent',
      sentAt: view.sentAt,
    });
  });

  it('a message to the sender alone goes without a pixel (the only reader would be the sender)', async () => {
    const outlook = await open('outlook.office.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    const title = subject('Note to self');
    await compose.write({ to: 'Ada.Sender@contoso.com', subject: title, text: 'Remember the milk.' });
    await compose.clickSend();
    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    const sent = (await outlook.sentWithSubject(title))!;
    expect(sent.to).toEqual([{ name: 'Ada.Sender@contoso.com', address: 'Ada.Sender@contoso.com' }]);
    expect(pixelsIn(sent.html, identity.pixelBase)).toEqual([]);
  });

  it('switch off: the message leaves without a pixel', async () => {
    const outlook = await open('outlook.live.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    await compose.toggle().click();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('false');
    const title = subject('Untracked note');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'No tracking here.' });
    await compose.clickSend();

    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    const sent = (await outlook.sentWithSubject(title))!;
    expect(sent.html).toContain('No tracking here.');
    expect(sent.html).not.toContain('/p/');
    expect(sent.html).not.toContain('<img');
  });

  it('Ctrl+Enter on outlook.office.com (German UI) sends the pixel and registers it', async () => {
    const outlook = await open('outlook.office.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    const title = subject('Angebot');
    await compose.write({ to: 'marie.curie@example.fr', subject: title, text: 'Anbei das Angebot.' });
    await compose.pressSendShortcut('Control+Enter');

    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    await expectRegisteredSent(onePixel((await outlook.sentWithSubject(title))!.html));
  });

  it('an inline reply, sent with Alt+S, carries its own pixel after the quoted message', async () => {
    const outlook = await open('outlook.office365.com', '/mail/inbox/id/AQQkADAwATM0MDAAMS1kYjk1');
    const reply = outlook.inlineReply();
    await expect.poll(() => reply.toggle().getAttribute('aria-checked')).toBe('true');
    await reply.type('Danke, Grace!');
    await reply.pressSendShortcut('Alt+s');

    await expect.poll(async () => (await outlook.sent()).filter((s) => s.kind === 'reply' && s.html.includes('Danke, Grace!')).length).toBe(1);
    const sent = (await outlook.sent()).find((s) => s.kind === 'reply' && s.html.includes('Danke, Grace!'))!;
    expect(sent.to).toEqual([{ name: 'Grace Hopper', address: 'grace.hopper@example.org' }]);
    expect(sent.html.indexOf('Danke, Grace!')).toBeLessThan(sent.html.indexOf('divRplyFwdMsg'));
    const id = onePixel(sent.html);
    expect(sent.html.lastIndexOf(id)).toBeGreaterThan(sent.html.indexOf('divRplyFwdMsg'));
    await expectRegisteredSent(id);
    // An inline reply links back to its conversation; its subject is the conversation's.
    expect(await localRecord(id)).toMatchObject({
      subject: 'Quartalszahlen',
      recipients: [{ name: 'Grace Hopper', address: 'grace.hopper@example.org' }],
      threadUrl: 'https://outlook.office365.com/mail/inbox/id/AQQkADAwATM0MDAAMS1kYjk1',
    });
  });

  it('two drafts open as tabs keep separate trackers', async () => {
    const outlook = await open('outlook.live.com');
    const first = await outlook.newMail();
    await expect.poll(() => first.toggle().getAttribute('aria-checked')).toBe('true');
    const firstTitle = subject('Draft A');
    await first.write({ to: 'a@example.org', subject: firstTitle, text: 'Message A' });
    const second = await outlook.newMail();
    await expect.poll(() => second.toggle().getAttribute('aria-checked')).toBe('true');
    const secondTitle = subject('Draft B');
    await second.write({ to: 'b@example.org', subject: secondTitle, text: 'Message B' });
    expect(await outlook.page.locator('[data-openping="toggle"]').count()).toBe(3); // A, B and the inline reply

    await second.clickSend();
    await outlook.showDraftTab(0);
    await first.clickSend();

    await expect.poll(async () => (await outlook.sentWithSubject(firstTitle)) && (await outlook.sentWithSubject(secondTitle))).toBeTruthy();
    const a = onePixel((await outlook.sentWithSubject(firstTitle))!.html);
    const b = onePixel((await outlook.sentWithSubject(secondTitle))!.html);
    expect(a).not.toBe(b);
    await expectRegisteredSent(a);
    await expectRegisteredSent(b);
  });

  it('drafts opened and discarded again and again leave exactly one switch per open compose', async () => {
    const outlook = await open('outlook.live.com');
    const switches = outlook.page.locator('[data-openping="toggle"]');
    await expect.poll(() => switches.count()).toBe(1); // the inline reply
    for (let round = 0; round < 5; round++) {
      const compose = await outlook.newMail();
      await expect.poll(() => compose.toggle().count()).toBe(1);
      await expect.poll(() => switches.count()).toBe(2);
      await compose.discard();
      await expect.poll(() => switches.count()).toBe(1);
    }
  });

  it('Space on the focused Send button sends, with the pixel', async () => {
    const outlook = await open('outlook.office.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    const title = subject('Per Tastatur');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Ohne Maus gesendet.' });
    await compose.root.locator('[data-sim-send]').focus();
    await outlook.page.keyboard.press('Space');
    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    await expectRegisteredSent(onePixel((await outlook.sentWithSubject(title))!.html));
  });

  it('a pop-out compose window (…/deeplink/compose) is tracked, though it closes itself at send', async () => {
    const main = await open('outlook.live.com');
    // Outlook opens its pop-outs with window.open (which is also what lets them close themselves).
    const opened = session.context.waitForEvent('page');
    await main.page.evaluate(() => void window.open('/mail/0/deeplink/compose', '_blank', 'popup,width=800,height=600'));
    const outlook = new OutlookPage(await opened, 'outlook.live.com');
    pages.push(outlook);
    const compose = outlook.popout();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    const title = subject('From the pop-out');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Written in its own window.' });
    const closed = outlook.page.waitForEvent('close');
    // The window closes itself on Send, sometimes before Playwright's click has its answer back
    // (seen once in CI: "Target page, context or browser has been closed"); the close is awaited
    // and the sent message checked below, so only that error is let through here.
    await compose.clickSend().catch((error: unknown) => {
      if (!(error instanceof Error && error.message.includes('Target page, context or browser has been closed'))) throw error;
    });
    await closed;
    const sent = await main.sentWithSubject(title);
    expect(sent?.kind).toBe('new');
    await expectRegisteredSent(onePixel(sent!.html));
  });

  it('scheduled send (Send menu → Schedule send) keeps the pixel and registers it', async () => {
    const outlook = await open('outlook.office.com');
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    const title = subject('Später');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Geplant.' });
    await compose.scheduleSend();
    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    const sent = (await outlook.sentWithSubject(title))!;
    expect(sent.scheduledFor).toBeGreaterThan(Date.now());
    await expectRegisteredSent(onePixel(sent.html));
  });

  it("the sender's own view of the sent message records no open: blocked in the browser, and reported as a self-view", async () => {
    const outlook = await open('outlook.live.com');
    const write = async (title: string) => {
      const compose = await outlook.newMail();
      await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
      await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Check the Sent folder.' });
      await compose.clickSend();
      await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
      const sent = (await outlook.sentWithSubject(title))!;
      const id = onePixel(sent.html);
      await expectRegisteredSent(id);
      return { id, at: sent.at };
    };
    // A control: sent the same way, never viewed by the sender.
    const control = await write(subject('Not viewed by me'));
    const title = subject('Seen by me only');
    const { id } = await write(title);

    const blocked: string[] = [];
    outlook.page.on('requestfailed', (r) => {
      if (r.url().includes(id)) blocked.push(r.failure()?.errorText ?? '');
    });
    const view = await outlook.openSentItem(title);
    // The own pixel is on screen in Outlook's reading pane, loaded directly (unproxied).
    await expect.poll(() => view.locator(`img[src*="${id}"]`).count()).toBe(1);
    // First line: the extension's block rule for the account's own pixel prefix stops it in the browser.
    await expect.poll(() => blocked).toContain('net::ERR_BLOCKED_BY_CLIENT');

    // Second line, for browsers where the rule does not hold: the view was reported, so the
    // fetch such a browser would make (a desktop browser, directly) counts as the sender's own.
    // The control pixel, fetched the same way, is a real open — the check can tell them apart.
    while (Date.now() - control.at < 6_000) await new Promise((r) => setTimeout(r, 200));
    const desktop = {
      'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'x-forwarded-for': '198.51.100.23',
    };
    await expect
      .poll(
        async () => {
          await fetch(`${server.url}/p/${identity.account}/${id}.gif`, { headers: desktop });
          return (await tracker(id)).body!.hits.map((h) => h.kind);
        },
        { timeout: 15_000, interval: 1_000 },
      )
      .toContain('self');
    await fetch(`${server.url}/p/${identity.account}/${control.id}.gif`, { headers: desktop });
    expect((await tracker(control.id)).body!.hits.map((h) => h.kind)).toEqual(['open']);
    expect((await tracker(id)).body!.hits.filter((h) => h.kind === 'open')).toEqual([]);
  });

  it('"Outlook changed": with Send no longer found, the switch says so and the message still sends, untracked', async () => {
    const broken = await session.context.newPage();
    // A later Outlook build: no Send handle this version knows is there (its name, the Fluent slot class, name=Send).
    await routeOutlook(broken, (html) =>
      html
        .replaceAll('fui-SplitButton__primaryActionButton', 'fui-PrimaryAction_r4nd0m')
        .replace(/(aria-label|title)="(Send|Senden)( \([^)]*\))?"/g, '$1="Dispatch"'),
    );
    const warnings: string[] = [];
    broken.on('console', (m) => {
      if (m.text().includes('[openping]')) warnings.push(m.text());
    });
    await broken.goto('https://outlook.live.com/mail/0/');
    const outlook = new OutlookPage(broken, 'outlook.live.com');
    pages.push(outlook);
    const compose = await outlook.newMail();
    const toggle = compose.toggle();
    await expect.poll(() => toggle.textContent(), { timeout: 5_000 }).toContain('Outlook changed — tracking unavailable');
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    const title = subject('Sent anyway');
    await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Outlook changed, mail still goes.' });
    await compose.clickSend();
    await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
    expect((await outlook.sentWithSubject(title))!.html).not.toContain('/p/');
    // Two broken composes (the inline reply and the new mail), one line in the log.
    expect(await outlook.page.locator('[data-openping="toggle"][data-status="broken"]').count()).toBeGreaterThanOrEqual(1);
    expect(warnings.filter((w) => w.includes('outlook: tracking unavailable'))).toHaveLength(1);
  });

  it('server down: the message still sends with its pixel; the registration lands once the server is back', async () => {
    const outlook = await open('outlook.office.com');
    // A send with the server up, timed the same way: the yardstick for "not held", which a
    // loaded machine stretches for both alike (a fixed 2 s failed with CPU hogs beside the suite).
    const control = await outlook.newMail();
    await expect.poll(() => control.toggle().getAttribute('aria-checked')).toBe('true');
    const controlTitle = subject('While the server is up');
    await control.write({ to: 'grace.hopper@example.org', subject: controlTitle, text: 'Online send.' });
    const controlSentAt = Date.now();
    await control.clickSend();
    await expect.poll(() => outlook.sentWithSubject(controlTitle)).toBeTruthy();
    const controlTook = (await outlook.sentWithSubject(controlTitle))!.at - controlSentAt;
    const compose = await outlook.newMail();
    await expect.poll(() => compose.toggle().getAttribute('aria-checked')).toBe('true');
    await server.stop();
    let restarted = false;
    try {
      const title = subject('While the server sleeps');
      await compose.write({ to: 'grace.hopper@example.org', subject: title, text: 'Offline send.' });
      const sentAt = Date.now();
      await compose.clickSend();
      await expect.poll(() => outlook.sentWithSubject(title)).toBeTruthy();
      const sent = (await outlook.sentWithSubject(title))!;
      expect(sent.at - sentAt).toBeLessThan(Math.max(2_000, 3 * controlTook));
      const id = onePixel(sent.html);
      await new Promise((r) => setTimeout(r, 3_000));
      await server.restart();
      restarted = true;
      const view = await expectRegisteredSent(id, 75_000);
      expect(Math.abs((view.sentAt ?? Number.NaN) - sent.at)).toBeLessThan(Math.max(2_000, 3 * controlTook));
    } finally {
      if (!restarted) await server.restart();
    }
  }, 120_000);
});

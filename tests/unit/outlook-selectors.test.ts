// @vitest-environment happy-dom
/**
 * Every Outlook selector against the saved, dated fixtures (STYLE §2), with the
 * number of matches each should have. A selector that stops matching here is a
 * selector that stopped matching the page it was modelled on.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as sel from '../../lib/webmail/outlook-selectors';
import { isFallbackSend, isNamedSend } from '../../lib/webmail/outlook';

export function fixture(name: string): Document {
  const html = readFileSync(resolve(__dirname, '../fixtures', name), 'utf8');
  return new DOMParser().parseFromString(html, 'text/html');
}

/** What the fixture's own script does on "New mail": a compose from its template. */
function withNewCompose(doc: Document): Element {
  const template = doc.getElementById('sim-compose') as HTMLTemplateElement;
  const compose = template.content.firstElementChild!.cloneNode(true) as Element;
  doc.querySelector('[data-sim-pane="compose"]')!.append(compose);
  return compose;
}

const count = (scope: ParentNode, selector: string) => scope.querySelectorAll(selector).length;
/** Buttons named Send (in any language of sel.sendNames). */
const namedSends = (scope: ParentNode) => [...scope.querySelectorAll(sel.sendCandidates)].filter(isNamedSend);

const fluentPages = ['outlook-live-2026-11-mail.html', 'outlook-office-2026-11-mail.html'];

describe.each(fluentPages)('Outlook selectors on %s (Fluent UI v9 build)', (page) => {
  it('finds the one open compose (an inline reply) by its editor, not by the To well', () => {
    const doc = fixture(page);
    expect(count(doc, sel.composeBody)).toBe(1);
    expect(count(doc, sel.composeBodyFallback)).toBe(1);
    expect(doc.querySelector(sel.composeBody)).toBe(doc.querySelector(sel.composeBodyFallback));
    // The To well is a contenteditable textbox too, and must not count as a body.
    expect(count(doc, '[role="textbox"][contenteditable="true"]')).toBe(2);
  });

  it('finds Send, its menu half and the split button around them', () => {
    const doc = fixture(page);
    expect(namedSends(doc)).toHaveLength(1);
    expect(count(doc, sel.sendButtonFallback)).toBe(1);
    expect(count(doc, sel.ribbonItem)).toBe(0);
    expect(count(doc, sel.sendMenuButton)).toBe(1);
    expect(count(doc, sel.sendSplitButton)).toBe(1);
    expect(doc.querySelector(sel.sendSplitButton)!.contains(namedSends(doc)[0]!)).toBe(true);
  });

  it('finds recipients, the conversation, its subject and the own address', () => {
    const doc = fixture(page);
    // The message header's sender chip and the reply's To chip.
    expect(count(doc, sel.recipientChip)).toBe(2);
    expect(count(doc, sel.recipientChipFallback)).toBe(1);
    expect(count(doc, sel.conversation)).toBe(1);
    expect(count(doc.querySelector(sel.conversation)!, sel.conversationSubject)).toBe(1);
    expect(doc.querySelector(sel.ownAddress)!.getAttribute('title')).toMatch(/^ada\.sender@/);
    expect(count(doc, sel.ownAddressFallback)).toBe(0);
    expect(count(doc, sel.readingPane)).toBe(1);
    // An inline reply has no subject field of its own.
    expect(count(doc, sel.subject)).toBe(0);
  });

  it('finds the message shown in reading mode, and no compose among the views', () => {
    const doc = fixture(page);
    expect(count(doc, sel.messageView)).toBe(1);
    expect(count(doc, sel.messageViewFallback)).toBe(1);
    expect(doc.querySelector(sel.messageView)!.querySelectorAll('img')).toHaveLength(1);
  });

  it('finds every part of a new message compose from the page template', () => {
    const doc = fixture(page);
    const compose = withNewCompose(doc);
    expect(count(compose, sel.composeBody)).toBe(1);
    expect(count(compose, sel.composeBodyFallback)).toBe(1);
    expect(namedSends(compose)).toHaveLength(1);
    expect(count(compose, sel.subject)).toBe(1);
    expect(count(doc, sel.composeBody)).toBe(2);
    // Menus and dialogs exist only once opened (portalled to <body>).
    expect(count(doc, sel.menuItem)).toBe(0);
    expect(count(doc, sel.dialog)).toBe(0);
  });

  it('has no compose container for the fallback chain (the v9 build needs none)', () => {
    expect(count(fixture(page), sel.composeContainerFallback)).toBe(0);
  });
});

describe('Outlook fallback selectors on outlook-office-2026-11-v8-compose.html (Fluent UI v8 build)', () => {
  const doc = fixture('outlook-office-2026-11-v8-compose.html');

  it('misses the v9 handles and finds the compose through the fallbacks', () => {
    expect(count(doc, sel.composeBody)).toBe(0);
    expect(count(doc, sel.composeBodyFallback)).toBe(1);
    expect(namedSends(doc).map((b) => b.getAttribute('aria-label'))).toEqual(['Envoyer']);
    expect(count(doc, sel.sendButtonFallback)).toBe(1);
    expect(count(doc, sel.sendSplitButton)).toBe(0);
    expect(count(doc, sel.composeContainerFallback)).toBe(0);
    expect(count(doc, sel.recipientChip)).toBe(0);
    expect(count(doc, sel.recipientChipFallback)).toBe(1);
    expect(count(doc, sel.subject)).toBe(1);
    expect(count(doc, sel.ownAddress)).toBe(0);
    expect(count(doc, sel.ownAddressFallback)).toBe(1);
  });
});

describe('Outlook selectors on outlook-live-2026-12-ribbon.html (the ribbon above a compose in the reading pane)', () => {
  const doc = fixture('outlook-live-2026-12-ribbon.html');
  const template = doc.getElementById('sim-compose') as HTMLTemplateElement;

  it('tells the ribbon’s split buttons from the compose’s Send', () => {
    // New mail, Delete and Report: split buttons like Send, marked as ribbon commands.
    expect(count(doc, '.fui-SplitButton__primaryActionButton')).toBe(3);
    expect([...doc.querySelectorAll(sel.sendButtonFallback)].filter(isFallbackSend)).toHaveLength(0);
    expect(namedSends(doc)).toHaveLength(0);
    expect(count(doc, sel.ribbonItem)).toBeGreaterThanOrEqual(3);
    expect(namedSends(template.content)).toHaveLength(1);
    expect(count(doc, sel.readingPane)).toBe(1);
    expect(doc.querySelector(sel.ownAddress)!.getAttribute('title')).toBe('ada.sender@outlook.com');
    expect(count(doc, sel.ownAddressFallback)).toBe(0);
  });
});

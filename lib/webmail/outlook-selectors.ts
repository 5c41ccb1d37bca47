/**
 * Every selector OpenPing uses on Outlook on the web (outlook.live.com,
 * outlook.office.com, outlook.office365.com), named, dated and with its source
 * (STYLE §2). Each is checked against the saved fixtures
 * tests/fixtures/outlook-*-2026-11*.html by tests/unit/outlook-selectors.test.ts.
 *
 * Outlook is localized (aria-labels and titles like "Send" or "Message body"
 * change with the language) and its class names are build hashes that change
 * between releases (Freemindtronic/evicypher-webmail rewrote its Outlook
 * selectors several times for that reason). So: roles, ARIA state attributes,
 * ids and Fluent UI's stable slot classes, never English text, never hashes.
 */

/**
 * Compose body: the editor is a `div[role=textbox][contenteditable=true]`
 * with `aria-multiline="true"` (markup quoted in public scripts, e.g. a saved
 * `<div id="editorParent_1"><div role="textbox" aria-multiline="true"
 * aria-label="Message body, press Alt+F10 to exit" contenteditable="true">`).
 * The To/Cc wells are contenteditable textboxes too but single-line, so
 * `aria-multiline` tells the body apart without reading the localized label. 2026-11
 */
export const composeBody = 'div[role="textbox"][contenteditable="true"][aria-multiline="true"]';
/** Fallback: the editor's wrapper has an `editorParent_<n>` id in every build seen (same source). 2026-11 */
export const composeBodyFallback = 'div[id^="editorParent_"] > div[contenteditable="true"]';

/**
 * Send, found by what is Send: a button in the compose whose accessible name (aria-label,
 * or a title like "Send (Ctrl+Enter)" without its shortcut) is the Send command's name in
 * one of the languages of `sendNames` below. Public Outlook-on-the-web scripts anchor on
 * exactly that name, never on a class:
 * - lucasjellema/outlook-addin, ManyMail/outlook-newmail-window-chrome-extension/content.js
 *   (2024–25: `document.querySelector('[aria-label="Send"]')` in the new-mail window);
 * - a 2025 Outlook adapter of a browser extension found by the code search (repository not
 *   named by the index, file id 55655873892): `button[aria-label="Send"], button[title="Send"]`
 *   inside the compose root `[data-app-section="MailReadCompose"]`;
 * - QShield's Outlook content script (2025–26, same search): `button[aria-label="Send"], button[title="Send"]`;
 * - a 2025 OWA automation (file id 35260514190): `button[aria-label='Send' or @title='Send']`.
 * The Fluent split-button class alone is no anchor: the ribbon's New mail, Delete and Report
 * are split buttons too (mailvelope/mailvelope outlook-dom-templates.js, 2025-11-17). 2026-12
 */
export const sendCandidates = 'button[aria-label], button[title], [role="button"][aria-label]';

/**
 * The Send command's name per UI language (knowledge as data, STYLE §9), lower case. en: the
 * sources above; de "Senden" and fr "Envoyer": Microsoft's Office terminology for the Send
 * command (Microsoft Terminology Collection), as in the German and French fixtures; zh "发送"
 * beside "Send" in a public 2025 webmail script (file id 54380468676). The others are
 * Microsoft's terminology too but not seen in captured Outlook markup: dated guesses, 2026-12.
 */
export const sendNames: readonly string[] = [
  'send', // en
  'senden', // de
  'envoyer', // fr
  'enviar', // es, pt (guess 2026-12)
  'invia', // it (guess 2026-12)
  'verzenden', // nl (guess 2026-12)
  'wyślij', // pl (guess 2026-12)
  'skicka', // sv (guess 2026-12)
  '送信', // ja (guess 2026-12)
  '发送', // zh-Hans
];

/**
 * A fallback for UI languages not in `sendNames` — a guess, never seen tell Send apart in
 * real markup (2026-12): the primary half of a Fluent v9 split button
 * (splitButtonClassNames in @fluentui/react-components) that is not a ribbon command, and
 * only inside a root that holds no ribbon (composeRootOf), or Fluent v8's `name="Send"`
 * (toggl/track-extension outlook.js).
 */
export const sendButtonFallback =
  'button.fui-SplitButton__primaryActionButton:not([data-automation-type^="Ribbon"]), button[name="Send"]';

/**
 * The ribbon's commands: `data-automation-type="RibbonSplitButton"` / `"RibbonButton"` and
 * `data-unique-id="Ribbon-<n>"` in real markup (mailvelope/mailvelope, 2025-11-17). A compose
 * root never holds one: a root that does is the page, and its split buttons are New mail,
 * Delete and Report. 2026-12
 */
export const ribbonItem = '[data-automation-type^="Ribbon"], [data-unique-id^="Ribbon-"]';

/** The reading pane (real markup: `div[role=main][data-app-section=MailReadCompose]`, Mailvelope 2025-11): a compose root lies inside it, never is it. 2026-12 */
export const readingPane = '[data-app-section="MailReadCompose"]';

/** The other half of the split Send button: opens the menu with "Schedule send" (Fluent slot class). 2026-11 */
export const sendMenuButton = 'button.fui-SplitButton__menuButton';
/** Menu items of a Fluent menu; menus are portalled to the end of <body>, outside the compose. 2026-11 */
export const menuItem = '[role="menuitem"], [role="menuitemradio"]';
/** Fluent dialogs (the "Schedule send" time picker) are portalled the same way. 2026-11 */
export const dialog = '[role="dialog"], [role="alertdialog"]';

/**
 * Subject: the compose's only plain text input (recipient wells are contenteditable
 * divs, not inputs). Its aria-label/placeholder "Add a subject" is localized. 2026-11
 */
export const subject = 'input[type="text"]:not([role="combobox"]), input:not([type]):not([role="combobox"])';

/**
 * Recipient chips ("personas"): `[data-lpc-hover-target-id]` (the Live Persona Card
 * hover target, used by several Outlook extensions, e.g. QShield's and a
 * Teams/Outlook scraper). The address sits in its title or aria-label, the
 * display name in its text. 2026-11
 */
export const recipientChip = '[data-lpc-hover-target-id]';
/** Fallback: any element in a recipient well whose title carries an address. 2026-11 */
export const recipientChipFallback = '[data-testid="RecipientWell"] [title*="@"]';

/**
 * Where a compose root lives when its Send cannot be found: a pop-out's dialog. A guess,
 * never seen in captured markup (2026-12). `data-app-section="MailCompose"` and
 * `"ComposeForm"`, used here before, were never seen either and are gone (issue 16).
 */
export const composeContainerFallback = '[role="dialog"]';

/**
 * A message shown in reading mode: `div[id^="UniqueMessageBody"]` with
 * `role="document"` (used by many Outlook scrapers and add-ins, e.g. the
 * `UniqueMessageBody_1` selector in public Playwright scripts). Compose bodies are
 * contenteditable and never match. 2026-11
 */
export const messageView = 'div[id^="UniqueMessageBody"]';
/** Fallback: a labelled read-only document region inside the reading pane. 2026-11 */
export const messageViewFallback = '[role="document"][aria-label]:not([contenteditable="true"])';

/** The reading pane's conversation (inline replies sit inside it). 2026-11 */
export const conversation = '[data-app-section="ConversationContainer"]';

/**
 * The signed-in account's address without opening anything: the folder tree's mailbox root,
 * `div[id^="primaryMailboxRoot_"][title="<address>"]` (mailvelope/mailvelope, 2025-11-17). 2026-12
 */
export const ownAddress = '[id^="primaryMailboxRoot_"][title*="@"]';
/**
 * Fallback: the Microsoft account control's address, present only after the user opened the
 * account flyout (every public OWA script found clicks `#meInitialsButton` first). 2026-11
 */
export const ownAddressFallback = '#mectrl_currentAccount_secondary';

/** The whole split Send button; the Track switch is mounted right after it (Fluent slot class). 2026-11 */
export const sendSplitButton = '.fui-SplitButton';

/** A conversation's subject heading: inline replies have no subject field of their own. 2026-11 */
export const conversationSubject = '[role="heading"]';

// ---------------------------------------------------------------- lists and conversations (issue 16)

/**
 * A row of any message list: `[role=listbox] > [role=option][data-convid]`, the conversation
 * id on the row itself (mailvelope/mailvelope 2025-11: `#MailList [role=listbox]
 * [role=option][data-convid]`; a 2025 OWA automation: `div[role="listbox"] div[role="option"]`). 2026-12
 */
export const listRow = '[role="listbox"] [role="option"][data-convid]';
/** The message list's region (Mailvelope 2025-11: `#MailList`); the observer is scoped to it. 2026-12 */
export const listRegion = '#MailList';
/** The selected row: an inline reply answers its conversation (Mailvelope 2025-11 `aria-selected`). 2026-12 */
export const selectedRow = '[role="option"][aria-selected="true"][data-convid]';
/**
 * A row's subject: Outlook renders it as its own span with the text alone; no stable class is
 * known (hashed), so rows are matched by an element whose whole text is the subject. 2026-12
 */
export const rowTextLeaf = 'span, div';

// ---------------------------------------------------------------- replies (issue 19)

/**
 * A conversation item's sender: an element of the item's header whose aria-label names the sender's
 * address after a localized "From:" (real markup: `span[aria-label="Von: sender@example.com"]` and
 * `span[aria-label="From: sender@example.com"]`, mailvelope/mailvelope 2025-11-17; public OWA
 * scripts of 2025 read `[aria-label^="From:"]`). The prefix is never read, only the address. 2026-12
 */
export const itemSenderCandidates = '[aria-label*="@"]';
/** The recipients well of an item (real markup: `[data-testid="RecipientWell"]`, Mailvelope 2025-11): never the sender. 2026-12 */
export const recipientWell = '[data-testid="RecipientWell"]';
/**
 * A conversation item's date: `[data-testid="SentReceivedSavedTime"]`, its `title` or text the
 * localized date (read by several public OWA scrapers and automations of 2024–26 found by the code
 * search; absent from the Mailvelope templates). A dated guess of its place in the item. 2026-12
 */
export const itemTime = '[data-testid="SentReceivedSavedTime"]';

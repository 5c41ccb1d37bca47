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
 * Send: the primary half of a Fluent UI v9 SplitButton. `fui-SplitButton__primaryActionButton`
 * is a slot class name Fluent publishes as API (splitButtonClassNames in
 * @fluentui/react-components' useSplitButtonStyles), so it survives Outlook's
 * own hashed-class churn. Its aria-label/title ("Send (Ctrl+Enter)") is localized. 2026-11
 */
export const sendButton = 'button.fui-SplitButton__primaryActionButton';
/** Fallback: builds on Fluent UI v8 named the button `name="Send"` (toggl/track-extension outlook.js). 2026-11 */
export const sendButtonFallback = 'button[name="Send"]';
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
 * Where compose roots live when the send button cannot be found (compose root
 * fallback chain): the reading pane's compose form and a pop-out's dialog. 2026-11
 */
export const composeContainerFallback = '[data-app-section="MailCompose"], [data-app-section="ComposeForm"], [role="dialog"]';

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

/** The signed-in account's address in the Microsoft account control (public Outlook scrapers read it here). 2026-11 */
export const ownAddress = '#mectrl_currentAccount_secondary';

/** The whole split Send button; the Track switch is mounted right after it (Fluent slot class). 2026-11 */
export const sendSplitButton = '.fui-SplitButton';

/** A conversation's subject heading: inline replies have no subject field of their own. 2026-11 */
export const conversationSubject = '[role="heading"]';

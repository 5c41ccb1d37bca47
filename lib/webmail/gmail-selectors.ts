/**
 * Every Gmail selector OpenPing uses, each with its reason and date (STYLE §2).
 * Each entry is a list of alternatives tried in order: attributes and roles
 * first, Gmail's obfuscated classes as the fallback. None relies on an English
 * label (Gmail is localized). Checked against tests/fixtures/gmail-2026-11-*.html
 * by tests/unit/gmail-selectors.test.ts.
 *
 * Sources (read for facts): InboxSDK
 * src/platform-implementation-js/dom-driver/gmail/views/gmail-compose-view.ts and
 * gmail-compose-view/page-parser.ts, get-presending-stream.js, get-recipients.ts;
 * gmail.js README/src; RESEARCH.md §3.
 */
export type Selector = readonly string[];

/**
 * The compose's editable body: Gmail marks it with its own `g_editable`
 * attribute (InboxSDK `getMaybeBodyElement`: `.Ap [g_editable=true]`), 2026-11.
 */
export const body: Selector = ['[g_editable="true"]', '.Ap [contenteditable="true"][role="textbox"]'];

/**
 * The element holding one whole compose (header, recipients, body, send bar):
 * `.M9` for pop-out, full-screen and inline composes alike (InboxSDK's inline
 * pop-out button is under `.M9`; RESEARCH §3); when `.M9` is gone, a pop-out's
 * dialog, else the `[role=region]` InboxSDK's page-parser finds around the
 * compose form of both pop-out and inline composes, 2026-11.
 */
export const composeRoot: Selector = ['.M9', '[role="dialog"]', '[role="region"]'];

/** Subject input, by its form name (InboxSDK `getSubjectInput`), 2026-11. */
export const subject: Selector = ['input[name="subjectbox"]'];

/** The thread's subject heading, for inline replies whose subject box is empty (gmail.js `.hP`), 2026-11. */
export const threadSubject: Selector = ['h2[data-thread-perm-id]', 'h2.hP'];

/**
 * Recipient chips of To/Cc/Bcc: `[role=option][data-name]` in the field named
 * to|cc|bcc, address in `data-hovercard-id` (InboxSDK page-parser.ts, Gmail's
 * 2021-10 recipient chips), 2026-11.
 */
export const recipientChip: Selector = [
  '[name="to"] [role="option"][data-hovercard-id], [name="cc"] [role="option"][data-hovercard-id], [name="bcc"] [role="option"][data-hovercard-id]',
  '.anm [role="option"][data-hovercard-id]',
];

/** Older recipient UI: a hidden input per address inside `.vR` (InboxSDK `getRecipientChips`), 2026-11. */
export const recipientLegacyInput: Selector = ['.vR > input[type="hidden"]'];

/** The From field when the account has several addresses (InboxSDK from-manager), 2026-11. */
export const fromInput: Selector = ['input[name="from"]'];

/**
 * Send, as opposed to Send + archive (`.Uo`) and "More send options"
 * (`aria-haspopup`) (InboxSDK `getSendButton`; classes `T-I J-J5-Ji aoO v7
 * T-I-atl L3`, RESEARCH §3), 2026-11.
 */
export const sendButton: Selector = [
  '.IZ .Up div > div[role="button"]:not(.Uo):not([aria-haspopup="true"])',
  'div[role="button"].aoO:not([aria-haspopup="true"])',
];

/** Send + archive, offered in replies when enabled (InboxSDK `getSendAndArchiveButton`), 2026-11. */
export const sendAndArchiveButton: Selector = ['.IZ .Up div > div[role="button"].Uo:not([aria-haspopup="true"])'];

/** The arrow next to Send that opens "Schedule send" (InboxSDK `getMoreSendOptionsButton`: `.hG`), 2026-11. */
export const moreSendOptions: Selector = ['.IZ .Up [role="button"][aria-haspopup="true"]', '.hG'];

/** "Schedule send" in the more-send-options menu, by Gmail's own `selector` attribute (InboxSDK), 2026-11. */
export const scheduleSend: Selector = ['[selector="scheduledSend"]'];

/** Hidden inputs of the compose form (InboxSDK `#setupIDs`): `lts` the legacy thread id of a reply, 2026-11. */
export const legacyThreadId: Selector = ['input[name="lts"]'];

/** Where Gmail shows a thread (the inline reply sits in it), by role, 2026-11. */
export const main: Selector = ['[role="main"]'];

/**
 * Images of message bodies shown in a thread or the Sent folder: `.a3s` is the
 * message body (gmail.js `.a3s`; InboxSDK message view `.ii.gt`), 2026-11.
 */
export const messageBody: Selector = ['.a3s', '.ii.gt'];
export const messageImage: Selector = ['.a3s img', '.ii.gt img'];

// ---------------------------------------------------------------- lists and threads (issue 16)

/**
 * A row of any message list (Inbox, Sent, labels, search): `tr.zA`. Its thread id is not on
 * the row but on a child, the subject span `span[data-legacy-thread-id]` (hex), beside
 * `data-thread-id="#thread-f:<decimal>"` and `data-legacy-last-message-id` (public Gmail
 * extensions of 2024–26 read them there, e.g. a spam-filter extension's `applySpamFilter` and a
 * Gmail-list reader's notes: "The thread id is not on the row"; RESEARCH §7). 2026-12
 */
export const listRow: Selector = ['tr.zA'];
export const rowIds: Selector = ['[data-legacy-thread-id]'];
/** The row's subject (`span.bog`, the same sources), for rows whose ids are missing. 2026-12 */
export const rowSubject: Selector = ['span.bog'];
/** Where the mark goes: the subject's cell wrapper `.y6` (the same sources), else the subject itself. 2026-12 */
export const rowMarkAnchor: Selector = ['.y6', 'span.bog'];

/**
 * A row's participants and message count (issue 19): the sender cell `.yW` holds one `span[email][name]`
 * per shown sender ("Ada, me"), inside `span.bA4`, and `span.bx0` the count ("3") when the thread has
 * several messages (public Gmail-list readers of 2024–26 read `.yW span[email]` and `span.bx0`, e.g.
 * a Jira-badge extension's "the name, before the count (span.bx0)" and a list reader's
 * `extractConversationLength`). In a Sent list the cell names the recipients after a "To:" word. 2026-12
 */
export const rowParticipantsCell: Selector = ['.yW'];
export const rowParticipant: Selector = ['span[email]'];
export const rowCount: Selector = ['span.bx0'];

/**
 * An open thread: its subject `h2.hP` carries `data-legacy-thread-id` (RESEARCH §7), each
 * message `.adn[data-legacy-message-id]` with the sender `span.gD[email]` (InboxSDK message
 * view; gmail.js). Gmail keeps hidden older views in the page: only visible ones count. 2026-12
 */
export const threadHeading: Selector = ['h2.hP[data-legacy-thread-id]', 'h2[data-legacy-thread-id]'];
export const threadMessage: Selector = ['.adn[data-legacy-message-id]'];
export const messageSender: Selector = ['span.gD[email]', '.gD[email]'];

/**
 * The "Message sent · Undo · View message" notice: `.vh` holding `span#link_undo` and
 * `span#link_vsm` (Meru's Gmail client, 2024–25: `.vh:has(span[id='link_undo']):has(span[id='link_vsm'])`;
 * many Selenium scripts wait for `#link_vsm`). The new thread's ids are read from the link's
 * `param` attribute (`thread-f:<decimal>|msg-f:<decimal>`): a dated guess (2026-12), not seen in
 * captured markup; without it no ids are kept and the row is matched by subject. 2026-12
 */
export const sentNoticeLink: Selector = ['#link_vsm'];

/** A message's date; its `title` is the full date in the user's locale (gmail.js `.g3`), 2026-11. */
export const messageDate: Selector = ['.g3[title]'];

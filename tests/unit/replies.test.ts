import { describe, expect, it } from 'vitest';
import { newEmailRecord } from '../../lib/db';
import { findReply, mergeReply, replierLabel, replyFromRow, trackable, type ThreadMessage } from '../../lib/replies';
import { emailState, statusLine } from '../../lib/state/format';
import { matches } from '../../lib/state/emails';

const SENT = new Date(2026, 10, 30, 9, 0).getTime();
const ME = 'me@example.com';
const own = [ME, 'Me.Alias@Example.com'];
const me = { name: 'Me', address: ME };
const ada = { name: 'Ada Lovelace', address: 'ada@example.com' };
const bob = { name: 'Bob', address: 'bob@example.com' };
const carol = { name: 'Carol (Ada’s colleague)', address: 'carol@example.com' };

function msg(from: ThreadMessage['from'], minutes: number | null, subject?: string): ThreadMessage {
  return { from, at: minutes === null ? null : SENT + minutes * 60_000, subject };
}

describe('findReply', () => {
  it('a later message from the recipient is a reply, with who and when', () => {
    const reply = findReply(SENT, [msg(me, 0), msg(ada, 30)], own);
    expect(reply).toEqual({ by: ada, at: SENT + 30 * 60_000, others: [] });
  });

  it('the sender’s own later messages never count, under any of their addresses', () => {
    expect(findReply(SENT, [msg(me, 0), msg(me, 60), msg({ name: null, address: 'ME.ALIAS@example.com' }, 90)], own)).toBeNull();
  });

  it('a colleague in Cc who replies counts and is named', () => {
    expect(findReply(SENT, [msg(me, 0), msg(carol, 10)], own)?.by).toEqual(carol);
  });

  it('a forwarded copy is not a reply — the user’s own forward nor a recipient forwarding it back', () => {
    expect(findReply(SENT, [msg(me, 0), msg(me, 5, 'Fwd: Q3 budget'), msg(ada, 10, 'WG: Q3 budget')], own)).toBeNull();
    expect(findReply(SENT, [msg(ada, 10, 'FW: Q3 budget'), msg(ada, 20, 'Re: Q3 budget')], own)?.at).toBe(SENT + 20 * 60_000);
  });

  it('a thread the recipient renamed is still the thread (subjects are not compared)', () => {
    expect(findReply(SENT, [msg(me, 0, 'Q3 budget'), msg(ada, 10, 'Re: budget — revised numbers')], own)?.by).toEqual(ada);
  });

  it('several recipients: the first reply counts, the others are named too', () => {
    const reply = findReply(SENT, [msg(bob, 50), msg(ada, 20), msg(ada, 70), msg(carol, 80)], own);
    expect(reply?.by).toEqual(ada);
    expect(reply?.others).toEqual([bob, carol]);
    expect(replierLabel(reply!)).toBe('Ada Lovelace +2');
  });

  it('guesses nothing: messages before the send, without a time, or without knowing the user', () => {
    expect(findReply(SENT, [msg(ada, -60)], own)).toBeNull();
    expect(findReply(SENT, [msg(ada, null)], own)).toBeNull();
    expect(findReply(SENT, [msg(ada, 10)], [])).toBeNull();
    expect(findReply(SENT, [msg({ name: 'Ada', address: '' }, 10)], own)).toBeNull();
  });
});

describe('replyFromRow', () => {
  it('a row with more messages than at send and another participant is a reply dated by the row', () => {
    const at = SENT + 3_600_000;
    expect(replyFromRow({ count: 2, participants: [me, ada], lastAt: at }, { count: 1, at: SENT }, own)).toEqual({ by: ada, at, others: [] });
    // The user's own follow-up makes the count grow too.
    expect(replyFromRow({ count: 2, participants: [me], lastAt: at }, { count: 1, at: SENT }, own)).toBeNull();
    expect(replyFromRow({ count: 1, participants: [me, ada], lastAt: at }, { count: 1, at: SENT }, own)).toBeNull();
    expect(replyFromRow({ count: 2, participants: [me, ada], lastAt: null }, { count: 1, at: SENT }, own)).toBeNull();
  });
});

describe('mail to oneself and the email record', () => {
  it('is never tracked, nor marked replied', () => {
    expect(trackable([{ name: null, address: 'ME@example.com' }], own)).toBe(false);
    expect(trackable([me, ada], own)).toBe(true);
    expect(trackable([], own)).toBe(false);
    const toSelf = newEmailRecord('t-self-00000000000001', { recipients: [me] });
    expect(mergeReply(toSelf, { by: ada, at: SENT, others: [] }, own)).toBeNull();
  });

  it('keeps the earliest reply and adds later repliers', () => {
    const email = newEmailRecord('t-merge-0000000000001', { recipients: [ada, bob] });
    const first = mergeReply(email, { by: bob, at: SENT + 50, others: [] }, own)!;
    expect(first).toEqual({ repliedAt: SENT + 50, repliedBy: bob, repliedOthers: [] });
    const second = mergeReply({ ...email, ...first }, { by: ada, at: SENT + 10, others: [carol] }, own)!;
    expect(second).toEqual({ repliedAt: SENT + 10, repliedBy: ada, repliedOthers: [bob, carol] });
    expect(mergeReply({ ...email, ...second }, { by: bob, at: SENT + 90, others: [] }, own)).toBeNull();
  });

  it('replied is a state of its own; with only machine hits it says opens could not be observed', () => {
    const email = newEmailRecord('t-state-0000000000001', {
      subject: 'Q3 budget',
      recipients: [ada],
      sentAt: SENT,
      machineHits: 2,
      repliedAt: SENT + 3_600_000,
      repliedBy: ada,
    });
    expect(emailState(email)).toBe('replied');
    const line = statusLine(email, SENT + 2 * 3_600_000);
    expect(line).toContain('Replied by Ada Lovelace');
    expect(line).toContain('seen in your inbox');
    expect(line).toContain('Opens could not be observed');
    expect(statusLine({ ...email, opens: 2 }, SENT + 2 * 3_600_000)).not.toContain('could not be observed');
    expect(matches(email, '', 'opened')).toBe(true);
    expect(matches(email, '', 'unopened')).toBe(false);
  });
});

describe('recordReply (the background keeps what the page showed)', () => {
  it('validates the page’s word and stores the first reply; a reply before the send or to an unknown tracker is ignored', async () => {
    const { IDBFactory } = await import('fake-indexeddb');
    const { fakeBrowser } = await import('wxt/testing');
    const { closeDb, db } = await import('../../lib/db');
    const { recordReply } = await import('../../lib/reply-store');
    fakeBrowser.reset();
    closeDb();
    globalThis.indexedDB = new IDBFactory();
    const T = 'tracker-reply-00000001';
    await (await db()).put('emails', newEmailRecord(T, { subject: 'Q3 budget', recipients: [ada], sentAt: SENT }));
    expect(await recordReply(T, { by: ada, at: SENT - 1 }, own)).toBe(false);
    expect(await recordReply(T, { by: { address: 42 }, at: SENT + 10 }, own)).toBe(false);
    expect(await recordReply(T, { by: ada, at: SENT + 10 }, [])).toBe(false);
    expect(await recordReply('tracker-unknown-000001', { by: ada, at: SENT + 10 }, own)).toBe(false);
    expect(await recordReply(T, { by: ada, at: SENT + 10, others: [bob, 'junk'] }, own)).toBe(true);
    expect(await (await db()).get('emails', T)).toMatchObject({ repliedAt: SENT + 10, repliedBy: ada, repliedOthers: [bob] });
    expect(await recordReply(T, { by: ada, at: SENT + 10 }, own)).toBe(false);
  });
});

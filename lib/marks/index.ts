/**
 * Which tracked email a list row or thread shows (issue 16). Rows are matched by the
 * webmail's own ids; a row without a known id only by a subject that is unambiguous: one
 * tracked email without ids has it, and one row of the list shows it. Anything else gets no
 * mark — never a wrong one.
 */
import type { MarkInfo } from '../messages';
import type { ListRow } from '../webmail/types';

export interface RowMatch {
  mark: MarkInfo;
  /** Matched by subject: the row's ids are worth keeping for this tracker. */
  bySubject: boolean;
}

export class MarkIndex {
  private readonly byThread = new Map<string, MarkInfo>();
  private readonly byMessage = new Map<string, MarkInfo>();
  /** Subject → the tracked emails without ids that have it. */
  private readonly bySubject = new Map<string, MarkInfo[]>();
  readonly size: number;

  constructor(marks: readonly MarkInfo[]) {
    this.size = marks.length;
    for (const mark of marks) {
      if (mark.messageId) this.byMessage.set(mark.messageId, mark);
      if (mark.threadId) {
        // A thread with several tracked messages shows the latest one's state.
        const known = this.byThread.get(mark.threadId);
        if (!known || (mark.sentAt ?? 0) > (known.sentAt ?? 0)) this.byThread.set(mark.threadId, mark);
      } else if (mark.subject) {
        const list = this.bySubject.get(mark.subject) ?? [];
        list.push(mark);
        this.bySubject.set(mark.subject, list);
      }
    }
  }

  /**
   * `rowsShowing(text)`: how many rows of the list show that text (a subject shown by two rows is
   * ambiguous even when only one tracked email has it).
   */
  match(row: ListRow, rowsShowing: (text: string) => number): RowMatch | null {
    const { thread, message } = row.ids;
    const byId = (message && this.byMessage.get(message)) || (thread && this.byThread.get(thread)) || null;
    if (byId) return { mark: byId, bySubject: false };
    if (this.bySubject.size === 0) return null;
    let found: MarkInfo | null = null;
    for (const text of row.texts()) {
      const candidates = this.bySubject.get(text);
      if (!candidates) continue;
      if (candidates.length > 1 || rowsShowing(text) > 1 || (found && found !== candidates[0])) return null;
      found = candidates[0]!;
    }
    return found ? { mark: found, bySubject: true } : null;
  }
}

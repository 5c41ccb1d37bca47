/**
 * What tests/bench/marks.bench.ts runs inside Chromium: the list-marks code on Gmail-like
 * rows. Bundled for the page by esbuild at bench time.
 */
import { MarkIndex } from '../../lib/marks/index';
import type { MarkInfo } from '../../lib/messages';
import { renderRows } from '../../lib/webmail/features/list-marks';
import { gmail } from '../../lib/webmail/gmail';

function rows(n: number): string {
  let html = '';
  for (let i = 0; i < n; i++) {
    const id = (0x18c92589d000 + i).toString(16);
    html +=
      `<tr class="zA yO"><td class="xY"><span email="a${i}@example.org">Recipient ${i}</span></td><td class="xY a4W"><div class="xS"><div class="xT"><div class="y6">` +
      `<span class="bog"><span data-thread-id="#thread-f:${i}" data-legacy-thread-id="${id}" data-legacy-last-message-id="${id}">Subject ${i}</span></span></div>` +
      `<span class="y2"> - a snippet of message ${i}</span></div></div></td><td class="xW xY"><span>10:0${i % 10}</span></td></tr>`;
  }
  return html;
}

/** Half the rows tracked (by id), a tenth of the rest tracked by subject only. Returns ms for the first render and for an update. */
export function run(n: number): { first: number; update: number; marks: number } {
  document.body.innerHTML = `<div role="main"><table><tbody>${rows(n)}</tbody></table></div>`;
  const region = document.querySelector<HTMLElement>('[role="main"]')!;
  const marks: MarkInfo[] = [];
  for (let i = 0; i < n; i++) {
    const id = (0x18c92589d000 + i).toString(16);
    if (i % 2 === 0) marks.push({ tracker: `t${i}`, threadId: id, messageId: null, subject: `Subject ${i}`, sentAt: i, state: i % 4 === 0 ? 'opened' : 'sent', substate: null, opens: i % 4 === 0 ? 1 : 0, lastOpenAt: null, lastOpenPlace: null, lastOpenVia: null, muted: false });
    else if (i % 10 === 1) marks.push({ tracker: `t${i}`, threadId: null, messageId: null, subject: `Subject ${i}`, sentAt: i, state: 'delivered', substate: null, opens: 0, lastOpenAt: null, lastOpenPlace: null, lastOpenVia: null, muted: false });
  }
  let index = new MarkIndex(marks);
  const source = { marks: () => marks, index: () => index, subscribe: () => () => undefined, request: async () => null };
  const options = { webmail: 'gmail' as const, views: gmail.views!, doc: document, source, signal: new AbortController().signal };
  const all = () => region.querySelectorAll<HTMLElement>(gmail.views!.rowSelector);
  const t0 = performance.now();
  renderRows(options, region, all(), new Set(), () => undefined);
  const t1 = performance.now();
  // A state change: every tracked email opened once more; the marks update in place.
  for (const m of marks) Object.assign(m, { state: 'opened', opens: m.opens + 1 });
  index = new MarkIndex(marks);
  const t2 = performance.now();
  renderRows(options, region, all(), new Set(), () => undefined);
  const t3 = performance.now();
  return { first: t1 - t0, update: t3 - t2, marks: document.querySelectorAll('[data-openping="mark"]').length };
}

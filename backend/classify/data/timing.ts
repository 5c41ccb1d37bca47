/**
 * Timing rules the classifier applies (STYLE §9), each with why and a source.
 *
 * All windows are inclusive at their edge: a hit exactly `ms` away is inside.
 * The corpus (tests/fixtures/classify-corpus.ts) has a case on each side of
 * each edge.
 */
export interface TimingRule {
  ms: number;
  why: string;
  source: string;
  checked: string;
}

const CHECKED = '2026-11-27';

export const TIMING = {
  /**
   * A hit this soon after `sentAt` that would otherwise count is a machine.
   * Mautic counts a hit within 2 s of its own send as a bot point; OpenPing's
   * `sentAt` is the click on Send in the browser, which precedes the SMTP
   * hand-off by a further second or more (webmail send + relay), so machine
   * fetches land later relative to it. 5 s still leaves every human open:
   * delivery plus noticing plus opening takes longer than that.
   */
  tooFast: {
    ms: 5_000,
    why: 'Security gateways fetch within seconds of delivery; no person receives, notices and opens a message this fast.',
    source: 'mautic/mautic app/bundles/EmailBundle/Helper/BotRatioHelper.php (timeFromEmailThreshold = 2 s); suped.com on Office 365 automatic opens "within seconds of delivery"',
    checked: CHECKED,
  },
  /**
   * A fetch from the same prefix with the same user-agent within this window of
   * the previous one is a retry, not a second open. Yahoo's proxy retried a
   * pixel up to 4 times in a row; a person reopening a message takes longer.
   */
  duplicate: {
    ms: 10_000,
    why: 'Proxies retry a pixel several times in a row; repeats seconds apart are one fetch.',
    source: 'litmus.com/help/analytics/why-do-i-see-a-spike-in-yahoo-mail-opens ("retry … up to 4 times", 2018)',
    checked: CHECKED,
  },
  /**
   * A hit up to this long BEFORE a reported self-view is the sender's: the
   * extension reports the view with the sender's clock, and reports it once it
   * has recognised the message, shortly after the image started loading.
   */
  selfBefore: {
    ms: 10_000,
    why: 'The sender\'s client reports its own view a moment after the image loads, on its own clock.',
    source: 'SPEC §3 self-views; own views counted as opens is the top complaint (gmail.js #499, nylas-mail #3592)',
    checked: CHECKED,
  },
  /**
   * A hit up to this long AFTER a reported self-view is the sender's: the image
   * goes through the webmail's proxy, or loads lazily when scrolled into view.
   * Beyond it, an old self-view hides nothing: later hits are judged on their own.
   */
  selfAfter: {
    ms: 30_000,
    why: 'Images load through the webmail\'s proxy or when scrolled to, seconds after the view.',
    source: 'SPEC §3 self-views; Gmail loads images through its proxy (RESEARCH §1)',
    checked: CHECKED,
  },
} as const satisfies Record<string, TimingRule>;

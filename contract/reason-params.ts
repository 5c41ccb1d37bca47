/**
 * Reason parameters that are a whole number of seconds (as a decimal string);
 * a client words them in its language ("12 seconds"). Apart from ./reasons.ts
 * so a page script can import it without the English sentences.
 */
export const SECONDS_PARAMS: ReadonlySet<string> = new Set(['seconds']);

/**
 * Self-open blocking: the user's own browser never fetches their own pixel,
 * so their compose preview and Sent-folder views never reach the server as
 * hits. One dynamic declarativeNetRequest rule blocks the account's pixel
 * prefix wherever it appears in a URL — also inside the #fragment of Gmail's
 * image-proxy URLs (`…googleusercontent.com/meips/…#https://track…/p/…`),
 * which Chromium matches (RESEARCH §5, checked in Chromium 156).
 */
import { browser } from 'wxt/browser';

/** Dynamic rule ids owned by this module. */
export const SELF_BLOCK_RULE_ID = 1;

/** `<pixelBase>` without its scheme: matches http(s) and the proxied forms alike. */
export function pixelUrlFilter(pixelBase: string): string {
  return pixelBase.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
}

export interface BlockRule {
  id: number;
  priority: number;
  action: { type: 'block' };
  condition: { urlFilter: string; resourceTypes: string[] };
}

export function selfBlockRules(pixelBase: string | null): BlockRule[] {
  if (!pixelBase) return [];
  return [
    {
      id: SELF_BLOCK_RULE_ID,
      priority: 1,
      action: { type: 'block' },
      condition: {
        urlFilter: pixelUrlFilter(pixelBase),
        // Mail pages load the pixel as an image; previews and prefetchers may use the others.
        resourceTypes: ['image', 'media', 'object', 'sub_frame', 'ping', 'other'],
      },
    },
  ];
}

/** Replaces our dynamic rules with the ones for `pixelBase` (none when null). */
export async function installSelfBlockRules(pixelBase: string | null): Promise<void> {
  const dnr = browser.declarativeNetRequest;
  if (!dnr?.updateDynamicRules) return;
  try {
    await dnr.updateDynamicRules({
      removeRuleIds: [SELF_BLOCK_RULE_ID],
      addRules: selfBlockRules(pixelBase) as Parameters<typeof dnr.updateDynamicRules>[0]['addRules'],
    });
  } catch (error) {
    // A browser without dynamic rules still tracks; self-views are then caught by the self-view reports.
    console.warn('[openping] could not install the self-open block rule:', error);
  }
}

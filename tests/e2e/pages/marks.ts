/**
 * Page-object helpers for the list marks and thread status lines (SPEC §6, issue 16), on
 * any webmail page: the selectors the tests use live here (STYLE §12).
 */
import type { Locator } from 'playwright-core';

/** The mark in a list row (one per row of a tracked email). */
export function markIn(row: Locator): Locator {
  return row.locator('[data-openping="mark"]');
}

/** The card's Details link (inside the mark's open shadow root, which Playwright pierces). */
export function detailsIn(mark: Locator): Locator {
  return mark.locator('[data-openping="mark-details"]');
}

/** The card's Mute / Notify me again button (issue 17). */
export function muteIn(mark: Locator): Locator {
  return mark.locator('[data-openping="mark-mute"]');
}

export function cardIn(mark: Locator): Locator {
  return mark.locator('[data-openping="mark-card"]');
}

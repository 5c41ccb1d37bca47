/**
 * Re-classifies the stored hits of one tracker with its current context and
 * writes back the labels that changed (which re-announces those hits in the
 * events feed, SPEC §3). Used when a tracker turns `sent` after early hits,
 * and by `npm run reclassify` (backend/cli/reclassify.ts); a self-view that
 * arrives after the hits it explains re-labels only the hits near it
 * (relabelNear).
 */
import { classify } from './classify/index.ts';
import { TIMING } from './classify/data/timing.ts';
import type { Classification, PriorHit } from './classify/types.ts';
import { PRIOR_LIMIT } from './pixel.ts';
import { SELF_VIEW_MERGE_MS, type Hit, type Relabel, type Store, type StoredHit, type TrackerRecord } from './store/types.ts';

// Field by field: PostgreSQL's jsonb hands objects back with their keys reordered.
function sameClient(a: Hit['client'], b: Classification['client']): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && a.os === b.os && a.device === b.device;
}

function sameLabel(hit: Hit, c: Classification): boolean {
  return hit.kind === c.kind && hit.via === c.via && hit.reason === c.reason && sameClient(hit.client, c.client);
}

/** Hits classified (and labels written) per turn of the event loop: pixels never wait long behind a relabel. */
const CHUNK = 200;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The labels that would change; `prior` for each hit is built from the hits before it, as at record time. */
export async function relabelsFor(store: Store, tracker: TrackerRecord): Promise<Relabel[]> {
  return labelsInTurns(tracker, await store.trackerHits(tracker.account, tracker.tracker), []);
}

async function labelsInTurns(tracker: TrackerRecord, stored: readonly StoredHit[], prior: PriorHit[]): Promise<Relabel[]> {
  const labels: Relabel[] = [];
  for (let i = 0; i < stored.length; i += CHUNK) {
    if (i > 0) await nextTurn();
    labels.push(...labelsOf(tracker, stored.slice(i, i + CHUNK), prior));
  }
  return labels;
}

async function writeInTurns(store: Store, account: string, labels: readonly Relabel[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < labels.length; i += CHUNK) {
    if (i > 0) await nextTurn();
    changed += await store.relabel(account, labels.slice(i, i + CHUNK));
  }
  return changed;
}

/**
 * After a self-view at `at` was added or merged: re-labels the hits whose label
 * it can change, and only those. A self-view explains hits from
 * TIMING.selfBefore before to TIMING.selfAfter after it, and one merged into a
 * stored span (SELF_VIEW_MERGE_MS) widens that span's reach by less than the
 * merge distance on either side, so every hit it can change lies within `reach`
 * of `at`; the self rule comes after the duplicate rule (backend/classify), so
 * a hit turning `self` changes no later hit's label. The work is bounded by the
 * caps on stored hits in that window, and done in chunks.
 */
export async function relabelNear(store: Store, account: string, tracker: string, at: number): Promise<number> {
  const record = await store.getTracker(account, tracker);
  if (!record) return 0;
  const reach = Math.max(SELF_VIEW_MERGE_MS, TIMING.selfBefore.ms, TIMING.selfAfter.ms);
  const near = await store.trackerHitsNear(account, tracker, at - reach, at + reach, PRIOR_LIMIT);
  const prior = near.prior.map(({ hit, signals }): PriorHit => ({ at: hit.at, prefix: hit.network.prefix, userAgent: signals.userAgent, kind: hit.kind }));
  return writeInTurns(store, account, await labelsInTurns(record, near.hits, prior));
}

/** Classifies `stored` (oldest first) after the hits in `prior`, which it extends as it goes. */
function labelsOf(tracker: TrackerRecord, stored: readonly StoredHit[], prior: PriorHit[]): Relabel[] {
  const labels: Relabel[] = [];
  for (const { hit, signals } of stored) {
    const classification = classify(signals, {
      state: tracker.state,
      sentAt: tracker.sentAt,
      sentBy: tracker.sentBy,
      selfViews: tracker.selfViews,
      prior: prior.slice(-PRIOR_LIMIT),
    });
    if (!sameLabel(hit, classification)) labels.push({ id: hit.id, classification });
    prior.push({ at: hit.at, prefix: hit.network.prefix, userAgent: signals.userAgent, kind: classification.kind });
    if (prior.length > PRIOR_LIMIT * 2) prior.splice(0, prior.length - PRIOR_LIMIT);
  }
  return labels;
}

/** Returns how many hits changed label. */
export async function relabelTracker(store: Store, account: string, tracker: string): Promise<number> {
  const record = await store.getTracker(account, tracker);
  if (!record) return 0;
  return writeInTurns(store, account, await relabelsFor(store, record));
}

/**
 * Re-classifies the stored hits of one tracker with its current context and
 * writes back the labels that changed (which re-announces those hits in the
 * events feed, SPEC §3). Used when a self-view arrives after the hits it
 * explains, when a tracker turns `sent` after early hits, and by
 * `npm run reclassify` (backend/cli/reclassify.ts).
 */
import { classify } from './classify/index.ts';
import type { Classification, PriorHit } from './classify/types.ts';
import { PRIOR_LIMIT } from './pixel.ts';
import type { Hit, Relabel, Store, TrackerRecord } from './store/types.ts';

// Field by field: PostgreSQL's jsonb hands objects back with their keys reordered.
function sameClient(a: Hit['client'], b: Classification['client']): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && a.os === b.os && a.device === b.device;
}

function sameLabel(hit: Hit, c: Classification): boolean {
  return hit.kind === c.kind && hit.via === c.via && hit.reason === c.reason && sameClient(hit.client, c.client);
}

/** The labels that would change; `prior` for each hit is built from the hits before it, as at record time. */
export async function relabelsFor(store: Store, tracker: TrackerRecord): Promise<Relabel[]> {
  const stored = await store.trackerHits(tracker.account, tracker.tracker);
  const prior: PriorHit[] = [];
  const labels: Relabel[] = [];
  for (const { hit, signals } of stored) {
    const classification = classify(signals, {
      state: tracker.state,
      sentAt: tracker.sentAt,
      selfViews: tracker.selfViews,
      prior: prior.slice(-PRIOR_LIMIT),
    });
    if (!sameLabel(hit, classification)) labels.push({ id: hit.id, classification });
    prior.push({ at: hit.at, prefix: hit.network.prefix, userAgent: signals.userAgent, kind: classification.kind });
  }
  return labels;
}

/** Returns how many hits changed label. */
export async function relabelTracker(store: Store, account: string, tracker: string): Promise<number> {
  const record = await store.getTracker(account, tracker);
  if (!record) return 0;
  const labels = await relabelsFor(store, record);
  return labels.length === 0 ? 0 : store.relabel(account, labels);
}

import type { Classification, HitSignals, TrackerContext } from './types';

/**
 * Provisional classifier: presend before `sent`, everything else an open.
 * The classification issue replaces this body; callers depend only on the signature.
 */
export function classify(hit: HitSignals, tracker: TrackerContext): Classification {
  if (tracker.state !== 'sent' || (tracker.sentAt !== null && hit.at < tracker.sentAt)) {
    return { kind: 'presend', via: null, reason: 'Fetched before the message was sent — not counted.', client: null };
  }
  return { kind: 'open', via: null, reason: 'The image was loaded, so the message was probably opened.', client: null };
}

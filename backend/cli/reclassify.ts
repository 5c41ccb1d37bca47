/**
 * `npm run reclassify`: runs the current classification rules over every
 * stored hit and writes the labels that changed. Each changed hit goes out
 * through the events feed once more, with the same id and its new kind
 * (SPEC §3), so extensions update their counts.
 *
 * The store is the one OPENPING_DB names (SPEC §4; default ./data/openping.db).
 * `--dry-run` reports what would change and writes nothing.
 */
import { pathToFileURL } from 'node:url';
import { relabelsFor } from '../relabel.ts';
import { openStore } from '../store/index.ts';
import type { HitKind, Store } from '../store/types.ts';

export interface ReclassifyReport {
  trackers: number;
  hits: number;
  changed: number;
  /** "open → self" and the like, with how many hits moved that way. */
  moves: Map<string, number>;
}

const PAGE = 200;

export async function reclassifyAll(store: Store, options: { dryRun?: boolean } = {}): Promise<ReclassifyReport> {
  const report: ReclassifyReport = { trackers: 0, hits: 0, changed: 0, moves: new Map() };
  let after: string | null = null;
  do {
    const page = await store.listTrackers(after, PAGE);
    for (const tracker of page.items) {
      report.trackers++;
      const stored = await store.trackerHits(tracker.account, tracker.tracker);
      report.hits += stored.length;
      const labels = await relabelsFor(store, tracker);
      if (labels.length === 0) continue;
      const before = new Map<string, HitKind>(stored.map((s) => [s.hit.id, s.hit.kind]));
      for (const label of labels) {
        const move = `${before.get(label.id) ?? '?'} → ${label.classification.kind}`;
        report.moves.set(move, (report.moves.get(move) ?? 0) + 1);
      }
      report.changed += options.dryRun ? labels.length : await store.relabel(tracker.account, labels);
    }
    after = page.next;
  } while (after !== null);
  return report;
}

export function formatReport(report: ReclassifyReport, dryRun: boolean): string {
  const lines = [
    `${dryRun ? 'Would change' : 'Changed'} ${report.changed} of ${report.hits} stored hits (${report.trackers} trackers).`,
  ];
  // Only the kind moves are listed; a changed reason or client alone also counts as changed above.
  for (const [move, n] of [...report.moves].sort()) {
    const [from, to] = move.split(' → ');
    if (from !== to) lines.push(`  ${move}: ${n}`);
  }
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const dryRun = argv.includes('--dry-run');
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length > 0) {
    console.error(`Unknown argument ${unknown[0]}. Usage: npm run reclassify [-- --dry-run]`);
    return 2;
  }
  const url = process.env.OPENPING_DB?.trim() || './data/openping.db';
  let store: Store;
  try {
    // The stored signals already carry the network, so no IP data is needed here.
    store = await openStore(url, { alongsideServer: true });
  } catch (error) {
    console.error(`Could not open the store at OPENPING_DB=${url}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  try {
    const report = await reclassifyAll(store, { dryRun });
    console.log(formatReport(report, dryRun));
    return 0;
  } catch (error) {
    console.error(`Reclassification stopped: ${error instanceof Error ? error.message : String(error)}. Labels already written stay valid; run it again to finish.`);
    return 1;
  } finally {
    await store.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}

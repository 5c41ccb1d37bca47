/**
 * The CPU priority of the thread that calls it (the SQLite ingest worker,
 * ./sqlite-ingest-worker.ts, and the benchmark's stand-in for it,
 * tests/bench/durable-floor.ts).
 */
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Pixels first: this thread runs at the lowest CPU priority, so under a burst
 * the event loop (answering mail clients) gets the cores and the log is
 * applied in the quiet after it, in larger and cheaper transactions. Linux
 * applies scheduling settings to a single thread when given its thread id
 * (man 2 setpriority, "NOTES"; sched(7)), which /proc/thread-self names. Nice
 * 19 still let this thread hold a core for a whole time slice while the event
 * loop waited to run; SCHED_IDLE (sched(7): run only when nothing else wants
 * the core), set through util-linux's chrt as Node has no call for it, gave
 * the pixel route ~15% more throughput here (2026-11-27, 3 alternating rounds).
 * Elsewhere, or without chrt, the thread keeps what it could get. Reads that
 * need the hits still get them: they wait, the cores idle between requests.
 */
export function lowerPriority(): void {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    return; // Not Linux.
  }
  if (!Number.isInteger(tid) || tid <= 0) return;
  try {
    setPriority(tid, 19);
  } catch {
    // Not allowed: normal priority.
  }
  execFile('chrt', ['--idle', '--pid', '0', String(tid)], () => undefined);
}

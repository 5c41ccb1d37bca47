/**
 * The CPU priority of the SQLite ingest worker (./sqlite-ingest-worker.ts,
 * set from the event loop by ./sqlite-ingest.ts) and of the benchmark's
 * stand-in for it (tests/bench/durable-floor.ts).
 *
 * Pixels first: the worker runs at the lowest CPU priority, so under a burst
 * the event loop (answering mail clients) gets the cores and the log is
 * applied in the quiet after it, in larger and cheaper transactions. Linux
 * applies scheduling settings to a single thread when given its thread id
 * (man 2 setpriority, "NOTES"; sched(7)), which /proc/thread-self names. Nice
 * 19 still let this thread hold a core for a whole time slice while the event
 * loop waited to run; SCHED_IDLE (sched(7): run only when nothing else wants
 * the core), set through util-linux's chrt as Node has no call for it, gave
 * the pixel route ~15% more throughput here (2026-11-27, 3 alternating rounds).
 *
 * But "only when nothing else wants the core" means never while another
 * program keeps the cores busy: with two busy loops beside it a read waiting
 * for 20,000 logged hits got 12,500 after its 10 s wait (issue 13, finding
 * 11). So while anything waits for the worker it is put back to SCHED_OTHER.
 * That is why nice 19 is no longer used: an unprivileged thread may leave
 * SCHED_IDLE for SCHED_OTHER at its own nice value, but may not lower a nice
 * value it raised (sched(7), "Privileges and resource limits"; RLIMIT_NICE is
 * 0 by default), so a thread at nice 19 could never be given a fair share
 * again. Elsewhere, or without chrt, the worker keeps normal priority.
 */
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';

export type Policy = 'idle' | 'other';

/** The calling thread's kernel thread id (Linux), or null. */
export function threadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null; // Not Linux.
  }
}

/**
 * Sets one thread's scheduling policy (SCHED_OTHER keeps the nice value the
 * thread has, the process's); `done` gets the failure, if any (no chrt, not
 * allowed, thread gone).
 */
export function setThreadPolicy(tid: number, policy: Policy, done: (error: Error | null) => void = () => undefined): void {
  execFile('chrt', [policy === 'idle' ? '--idle' : '--other', '--pid', '0', String(tid)], (error) => done(error));
}

/** For the benchmark's stand-in: the calling thread at SCHED_IDLE for good. */
export function lowerPriority(): void {
  const tid = threadId();
  if (tid !== null) setThreadPolicy(tid, 'idle');
}

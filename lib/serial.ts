/**
 * One run at a time, and none missed: `serial(run)` gives a function that starts `run` when none is
 * running, and otherwise runs it once more after the running one, however many callers ask meanwhile;
 * each caller waits for a run that began after its call. The running one may have read its input (the
 * outbox, the list of blobs to send, the clock) before the caller's change, so joining it would leave
 * that change for the next wake-up. A failed run does not stop the one after it.
 */
export function serial<A extends unknown[], T>(run: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let running: Promise<T> | null = null;
  let following: Promise<T> | null = null;
  const start = (...args: A): Promise<T> => {
    if (!running) {
      running = run(...args).finally(() => {
        running = null;
      });
      return running;
    }
    following ??= running
      .catch(() => undefined)
      .then(() => {
        following = null;
        return start(...args);
      });
    return following;
  };
  return start;
}

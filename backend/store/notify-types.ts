/**
 * Which browser of an account notifies (issue 21): an account-level choice every paired browser reads,
 * and the claims that let exactly one browser show a notification under "whichever is open". Both
 * stores implement it (./notify-sqlite.ts, ./notify-postgres.ts); nothing here says what an email is
 * about: a claim key is a hit id or a tracker id with a due time.
 */

/** `every`: each browser notifies; `one`: only `device` does; `once`: the first browser to claim it. */
export type NotifyMode = 'every' | 'one' | 'once';
export const NOTIFY_MODES: readonly NotifyMode[] = ['every', 'one', 'once'];

export interface NotifyPolicy {
  mode: NotifyMode;
  /** The chosen browser (a device id) when mode is `one`; null otherwise. */
  device: string | null;
}

export interface ClaimOutcome {
  /** Whether the claiming device holds the claim (it made it now, or made it before). */
  won: boolean;
  /** The device holding it. */
  device: string;
  claimedAt: number;
}

/** How long a claim is kept: a notification or reminder is not claimed again after a month. */
export const CLAIM_KEEP_MS = 30 * 24 * 3_600_000;

export interface NotifyStore {
  /**
   * The account's choice; `every` for an account that never chose, and also when the chosen browser was
   * revoked since (a choice nobody can meet would silence every browser).
   */
  notifyPolicy(account: string): Promise<NotifyPolicy>;
  /** Stores the choice. False (nothing stored) when `device` is not one of the account's browsers. */
  setNotifyPolicy(account: string, policy: NotifyPolicy): Promise<boolean>;
  /**
   * Claims `key` for `device`, atomically: of any number of claims of one key at once exactly one wins.
   * A claim by the device already holding it wins again (a retried request). Forgets claims older than
   * CLAIM_KEEP_MS.
   */
  claimNotification(account: string, key: string, device: string, now: number): Promise<ClaimOutcome>;
}

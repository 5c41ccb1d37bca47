/**
 * The background service worker's wiring: message handlers, alarms,
 * notification clicks. Listeners are registered synchronously on every
 * worker start (MV3 delivers the waking event only to listeners added in the
 * first turn); all state is in IndexedDB and browser.storage.
 */
import { browser } from 'wxt/browser';
import { anyAppRecordFields, isAnyApp, labelOrDefault, markedSent } from './anyapp';
import { ApiError, checkHealth, deleteAccount, deleteTracker, getTracker, normalizeServer, postSelfView, putTracker } from './api';
import { errorWords } from './api-words';
import { openSetupOnInstall, testHooks } from './config';
import { cleanIds, clearAll, db, newEmailRecord } from './db';
import { installSelfBlockRules } from './dnr';
import { ID_PATTERN, randomId } from './ids';
import { t } from './i18n';
import { marksFor, saveIds } from './marks/data';
import { on, type Handlers } from './messages';
import { joinAccount, listDevices, revokeDevice, startPairing } from './pairing';
import { queueBlob, queueBlobDelete } from './sealed-sync';
import { loadPolicy, savePolicy } from './notify-policy';
import { deliverPending, markSeen, muteEmail, openThread, trackerOfNotification, updateBadge } from './notify';
import { recordReply } from './reply-store';
import {
  cancelIfAnswered,
  dropReminder,
  fireReminder,
  getReminder,
  onSent,
  setReminder,
  snoozeReminder,
  syncedOf,
  trackerOfReminderAlarm,
} from './reminders';
import { DIGEST_ALARM, deliverDigest, ensureDigestAlarm } from './notify-rules';
import { OUTBOX_ALARM, clearOutbox, enqueue, flushOutbox } from './outbox';
import {
  initialStatus,
  loadIdentity,
  loadSettings,
  loadStatus,
  saveIdentity,
  saveSettings,
  saveStatus,
  touchData,
  STORAGE_KEYS,
} from './settings';
import { accountFingerprint, pixelBaseProblem } from './setup';
import {
  SYNC_ALARM,
  ensureAccount,
  ensureSyncAlarm,
  forgetEmail,
  markActive,
  resetFeed,
  startLivePolling,
  stopLivePolling,
  syncOnce,
  tick,
} from './sync';

/** A scheduled message is registered as sent this long before it leaves (well inside the server's 5 minutes). */
const SCHEDULE_LEAD_MS = 60_000;

/** Send the queued calls now, without making the caller wait on the network. */
function kickOutbox(): void {
  void flushOutbox().catch((error) => console.warn('[openping] outbox flush failed', error));
}

function validTracker(tracker: unknown): tracker is string {
  return typeof tracker === 'string' && ID_PATTERN.test(tracker);
}

function fromOwnPage(sender: { url?: string; tab?: { url?: string } }): boolean {
  const own = browser.runtime.getURL('/');
  return (sender.url ?? '').startsWith(own) && !(sender.tab?.url ?? own).startsWith('http');
}

/** What the user reads of a failure (lib/api-words.ts): an ApiError's English `message` is for logs. */
const errorText = errorWords;

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Words are looked up when a page asks: the worker may start before the browser has its locale.
const notFromPage = () => ({ ok: false, error: t('errors.notOwnPage') });

export const handlers: Handlers = {
  // ------------------------------------------------------------ content scripts
  async identity() {
    const settings = await loadSettings();
    // First compose right after install: give the account creation a moment, never long.
    const identity = (await loadIdentity()) ?? (await withTimeout(ensureAccount(), 3_000, null));
    const pixelBase = identity?.pixelBase ?? null;
    return {
      pixelBase,
      trackByDefault: settings.trackByDefault,
      allowLocalServer: settings.allowLocalServer,
      setupProblem: pixelBaseProblem(pixelBase, settings.allowLocalServer),
    };
  },

  async armed({ tracker }) {
    if (!validTracker(tracker)) return { queued: false };
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    if (!(await tx.store.get(tracker))) await tx.store.put(newEmailRecord(tracker, { tracking: 'armed' }));
    await tx.done;
    await enqueue({ op: 'put', tracker, state: 'armed' });
    kickOutbox();
    return { queued: true };
  },

  async disarmed({ tracker }) {
    if (!validTracker(tracker)) return { queued: false };
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    const existing = await tx.store.get(tracker);
    if (existing?.tracking === 'armed') await tx.store.delete(tracker);
    await tx.done;
    await enqueue({ op: 'delete', tracker });
    kickOutbox();
    return { queued: true };
  },

  async sent({ email }) {
    if (!email || !validTracker(email.tracker)) return { queued: false };
    const sentAt = Number.isFinite(email.sentAt) ? email.sentAt : Date.now();
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    const existing = await tx.store.get(email.tracker);
    // Hits may already be here (another browser, or the feed was faster than this message): keep their counts.
    await tx.store.put({
      ...(existing ?? newEmailRecord(email.tracker)),
      webmail: email.webmail ?? null,
      subject: typeof email.subject === 'string' ? email.subject : '',
      recipients: Array.isArray(email.recipients) ? email.recipients : [],
      sentAt,
      sortAt: sentAt,
      threadUrl: typeof email.threadUrl === 'string' ? email.threadUrl : null,
      tracking: 'sent',
      // Ids the page told at send; ids learnt earlier (a resend of the same draft) stay unless replaced.
      threadId: cleanIds(email.ids).thread ?? existing?.threadId ?? null,
      messageId: cleanIds(email.ids).message ?? existing?.messageId ?? null,
      // Issue 19: a webmail message sent with no thread of its own yet began one (a list row's count then tells replies).
      startedThread: email.webmail ? !cleanIds(email.ids).thread : undefined,
    });
    await tx.done;
    // The server takes sentAt at most 5 minutes ahead (SPEC §3): a message scheduled for later stays
    // `armed` there until shortly before it leaves, so fetches before then count as presend.
    await enqueue({ op: 'put', tracker: email.tracker, state: 'sent', sentAt }, Date.now(), sentAt - SCHEDULE_LEAD_MS);
    await onSent(email.tracker, sentAt);
    // Issue 21: sealed, to the account's other browsers, with the reminder chosen at send.
    void getReminder(email.tracker)
      .then((reminder) => queueBlob(email.tracker, syncedOf(reminder)))
      .catch((e) => console.warn('[openping] sealed blob not queued', e));
    await touchData();
    await markActive();
    kickOutbox();
    void startLivePolling();
    return { queued: true };
  },

  async selfView({ trackers, at }) {
    const valid = (Array.isArray(trackers) ? trackers : []).filter(validTracker).slice(0, 200);
    if (valid.length === 0) return { queued: false };
    const when = Number.isFinite(at) ? at : Date.now();
    for (const tracker of valid) await enqueue({ op: 'selfView', tracker, at: when });
    kickOutbox();
    return { queued: true };
  },

  async replied({ tracker, reply, own }) {
    if (!validTracker(tracker)) return { changed: false };
    const changed = await recordReply(tracker, reply, own);
    if (changed) {
      // A reply seen here drops the reminder on the account's other browsers too (issue 21).
      if (await cancelIfAnswered(tracker)) {
        void queueBlob(tracker, null).catch((e) => console.warn('[openping] sealed reminder not queued', e));
      }
      await touchData();
    }
    return { changed };
  },

  async setReminder({ tracker, condition, afterDays, at }) {
    if (!validTracker(tracker)) return { ok: false, dueAt: null };
    const reminder = await setReminder(tracker, {
      condition,
      afterDays: typeof afterDays === 'number' ? afterDays : null,
      at: typeof at === 'number' ? at : null,
    });
    if (reminder) {
      await touchData();
      void queueBlob(tracker, syncedOf(reminder)).catch((e) => console.warn('[openping] sealed reminder not queued', e));
    }
    return { ok: reminder !== null, dueAt: reminder?.dueAt ?? null };
  },

  async dropReminder({ tracker }) {
    if (!validTracker(tracker)) return { ok: false };
    await dropReminder(tracker);
    await touchData();
    void queueBlob(tracker, null).catch((e) => console.warn('[openping] sealed reminder not queued', e));
    return { ok: true };
  },

  // ------------------------------------------------------------ popup and options
  async syncNow(_message, sender) {
    if (!fromOwnPage(sender)) return notFromPage();
    await markActive();
    const identity = await ensureAccount();
    if (!identity) return { ok: false, error: t('errors.noAccount') };
    await flushOutbox().catch(() => {});
    const res = await syncOnce();
    if (res.ok) void startLivePolling();
    return { ok: res.ok, error: res.error };
  },

  async ids({ tracker, ids }) {
    if (!validTracker(tracker)) return { ok: false };
    if (await saveIds(tracker, ids)) await touchData();
    return { ok: true };
  },

  async marks({ webmail }) {
    if (webmail !== 'gmail' && webmail !== 'outlook') return { marks: [] };
    return { marks: await marksFor(webmail) };
  },

  async openDetails({ tracker }) {
    if (!validTracker(tracker)) return { ok: false };
    // The popup's own page honours ?tracker= by opening that email's detail view.
    await browser.tabs.create({ url: browser.runtime.getURL(`/popup.html?tracker=${encodeURIComponent(tracker)}`) });
    return { ok: true };
  },

  async stopTracking({ tracker }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false };
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    const email = await tx.store.get(tracker);
    if (email) await tx.store.put({ ...email, tracking: 'stopped', unseenOpens: 0 });
    await tx.done;
    // The server forgets the tracker, so later fetches record nothing; the history stays here.
    await enqueue({ op: 'delete', tracker });
    kickOutbox();
    await updateBadge();
    await touchData();
    return { ok: true };
  },

  // From a content script too (a list mark's card): muting only silences this browser's notifications.
  async mute({ tracker, muted }) {
    if (!validTracker(tracker) || typeof muted !== 'boolean') return { ok: false };
    const ok = await muteEmail(tracker, muted);
    if (ok) await touchData();
    return { ok };
  },

  async deleteEmail({ tracker }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false };
    await forgetEmail(tracker);
    await enqueue({ op: 'delete', tracker });
    await queueBlobDelete(tracker);
    kickOutbox();
    await updateBadge();
    await touchData();
    return { ok: true };
  },

  async openThread({ tracker }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false };
    return { ok: await openThread(tracker) };
  },

  async markSeen(_message, sender) {
    if (!fromOwnPage(sender)) return { ok: false };
    await markSeen();
    await markActive();
    return { ok: true };
  },

  async testConnection({ server }, sender) {
    if (!fromOwnPage(sender)) return { ...notFromPage(), warnings: [] };
    try {
      return { ok: true, error: null, warnings: await checkHealth(server) };
    } catch (error) {
      return { ok: false, error: errorText(error), warnings: [] };
    }
  },

  async changeServer({ server }, sender) {
    if (!fromOwnPage(sender)) return notFromPage();
    let normalized: string;
    try {
      normalized = normalizeServer(server);
      await checkHealth(normalized);
    } catch (error) {
      return { ok: false, error: errorText(error) };
    }
    const previous = await loadIdentity();
    await saveSettings({ server: normalized });
    // Same server: keep the account — unless the server refused its token, then this is how the user reconnects.
    const refused = (await loadStatus()).state === 'unauthorized';
    if (previous && normalizeServer(previous.server) === normalized && !refused) return { ok: true, error: null };
    // Pixels already sent keep pointing at the old server; new ones use the new account.
    await stopLivePolling();
    await saveIdentity(null);
    await clearOutbox();
    await resetFeed();
    await installSelfBlockRules(null);
    await saveStatus(initialStatus);
    const identity = await ensureAccount();
    return identity
      ? { ok: true, error: null }
      : { ok: false, error: t('errors.savedNoAccount') };
  },

  async setupAccount(_message, sender) {
    const server = (await loadSettings()).server;
    const none = { server, pixelBase: null, fingerprint: null };
    if (!fromOwnPage(sender)) return { ...notFromPage(), ...none };
    if (!(await loadIdentity())) {
      // The user asks now: an earlier failure's backoff must not make them wait for the next try.
      const status = await loadStatus();
      if (status.state !== 'ok') await saveStatus({ ...status, retryAt: null });
    }
    const identity = await ensureAccount();
    if (!identity) {
      const status = await loadStatus();
      return { ok: false, error: status.message ?? t('errors.accountNotCreated', { server }), ...none };
    }
    return { ok: true, error: null, server, pixelBase: identity.pixelBase, fingerprint: await accountFingerprint(identity.account) };
  },

  async probePixel(_message, sender) {
    const none = { tracker: null, url: null };
    if (!fromOwnPage(sender)) return { ...notFromPage(), ...none };
    const identity = await loadIdentity();
    if (!identity) return { ok: false, error: t('errors.noAccountYet'), ...none };
    const tracker = randomId();
    // Its hit comes through the feed like any other: the tombstone keeps it out of the list of tracked mail.
    await forgetEmail(tracker);
    try {
      const now = Date.now();
      await putTracker(identity, tracker, 'sent', now);
      // A fetch near the sender's own view of the message is theirs (SPEC §3): the test never counts as an open.
      await postSelfView(identity, tracker, now);
    } catch (error) {
      void deleteTracker(identity, tracker).catch(() => {});
      return { ok: false, error: errorText(error), ...none };
    }
    return { ok: true, error: null, tracker, url: `${identity.pixelBase}${tracker}.gif` };
  },

  async probeResult({ tracker, waitMs }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false, error: t('errors.notTestPixel'), kind: null };
    const identity = await loadIdentity();
    if (!identity) return { ok: false, error: t('errors.noAccountYet'), kind: null };
    const until = Date.now() + Math.min(Math.max(Number(waitMs) || 0, 0), 30_000);
    try {
      // The server answers the pixel only after the hit is stored (SPEC §3), so it is there at once when the
      // fetch reached it; the short retries cover a proxy or cache answering before the server does.
      for (;;) {
        const view = await getTracker(identity, tracker);
        const hit = view.hits[0];
        if (hit) return { ok: true, error: null, kind: hit.kind };
        if (Date.now() >= until) return { ok: false, error: null, kind: null };
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } catch (error) {
      return { ok: false, error: errorText(error), kind: null };
    } finally {
      await deleteTracker(identity, tracker).catch(() => {});
    }
  },

  // ------------------------------------------------------------ a pixel for another mail app (lib/anyapp.ts)
  async trackOtherApp({ tracker, label, autoSend }, sender) {
    if (!fromOwnPage(sender)) return notFromPage();
    if (!validTracker(tracker)) return { ok: false, error: t('errors.notTracker') };
    const now = Date.now();
    const subject = labelOrDefault(typeof label === 'string' ? label : '', new Date(now));
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    if (!(await tx.store.get(tracker))) await tx.store.put(newEmailRecord(tracker, anyAppRecordFields(subject, autoSend !== false, now)));
    await tx.done;
    // Registered armed at copy: the draft's own fetches are presend; with autoSend the server sends it at the first outside fetch.
    await enqueue({ op: 'put', tracker, state: 'armed', autoSend: autoSend !== false });
    await touchData();
    await markActive();
    kickOutbox();
    void startLivePolling();
    return { ok: true, error: null };
  },

  async markSent({ tracker }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false };
    const now = Date.now();
    const database = await db();
    const tx = database.transaction('emails', 'readwrite');
    const email = await tx.store.get(tracker);
    if (!email || !isAnyApp(email) || email.tracking !== 'armed') return { ok: false };
    await tx.store.put(markedSent(email, now));
    await tx.done;
    await enqueue({ op: 'put', tracker, state: 'sent', sentAt: now });
    await touchData();
    await markActive();
    kickOutbox();
    void startLivePolling();
    return { ok: true };
  },

  async markOwnHit({ tracker, at }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker) || !Number.isFinite(at)) return { ok: false };
    // A self-view at the hit's time: the server's self rule re-labels it (and its neighbours) and the feed says so.
    await enqueue({ op: 'selfView', tracker, at });
    kickOutbox();
    void startLivePolling();
    return { ok: true };
  },

  async snoozeReminder({ tracker, days }, sender) {
    if (!fromOwnPage(sender) || !validTracker(tracker)) return { ok: false, dueAt: null };
    const next = await snoozeReminder(tracker, days);
    if (next) {
      await touchData();
      void queueBlob(tracker, syncedOf(next)).catch((e) => console.warn('[openping] sealed reminder not queued', e));
    }
    return { ok: next !== null, dueAt: next?.dueAt ?? null };
  },

  async deleteEverything(_message, sender) {
    if (!fromOwnPage(sender)) return notFromPage();
    const identity = await loadIdentity();
    if (identity) {
      try {
        await deleteAccount(identity);
      } catch (error) {
        // Already gone on the server is what we want; anything else: keep local data so the user can retry.
        if (!(error instanceof ApiError && (error.status === 401 || error.status === 404))) {
          return { ok: false, error: t('errors.nothingDeleted', { why: errorText(error) }) };
        }
      }
    }
    await stopLivePolling();
    await clearAll();
    await clearOutbox();
    await saveIdentity(null);
    await saveStatus(initialStatus);
    await installSelfBlockRules(null);
    await browser.storage.local.remove(['activeUntil', 'keyring', 'sharedAccount', 'sealedPending']);
    const shown = await browser.notifications.getAll();
    for (const id of Object.keys(shown)) if (trackerOfNotification(id)) await browser.notifications.clear(id);
    await updateBadge();
    await touchData();
    return { ok: true, error: null };
  },

  // ------------------------------------------------------------ one account, several browsers (issue 21)
  async pairStart(_message, sender) {
    if (!fromOwnPage(sender)) return { ...notFromPage(), code: null, expiresAt: null };
    try {
      return { ok: true, error: null, ...(await startPairing()) };
    } catch (error) {
      return { ok: false, error: errorText(error), code: null, expiresAt: null };
    }
  },

  async pairJoin({ code }, sender) {
    if (!fromOwnPage(sender) || typeof code !== 'string') return notFromPage();
    try {
      await stopLivePolling();
      await joinAccount(code, (await loadSettings()).server);
      await markActive();
      void syncOnce().then((res) => {
        if (res.ok) void startLivePolling();
      });
      return { ok: true, error: null };
    } catch (error) {
      return { ok: false, error: errorText(error) };
    }
  },

  async devices(_message, sender) {
    if (!fromOwnPage(sender)) return { ...notFromPage(), devices: [] };
    const identity = await loadIdentity();
    if (!identity) return { ok: true, error: null, devices: [] };
    try {
      return { ok: true, error: null, devices: await listDevices(identity) };
    } catch (error) {
      return { ok: false, error: errorText(error), devices: [] };
    }
  },

  async notifyPolicy(_message, sender) {
    if (!fromOwnPage(sender)) return { ...notFromPage(), policy: null };
    const identity = await loadIdentity();
    if (!identity) return { ok: true, error: null, policy: null };
    return { ok: true, error: null, policy: await loadPolicy(identity) };
  },

  async setNotifyPolicy({ mode, device }, sender) {
    if (!fromOwnPage(sender) || !['every', 'one', 'once'].includes(mode)) return { ...notFromPage(), policy: null };
    const identity = await loadIdentity();
    if (!identity) return { ok: false, error: t('errors.noAccountYet'), policy: null };
    try {
      return { ok: true, error: null, policy: await savePolicy(identity, mode, typeof device === 'string' ? device : null) };
    } catch (error) {
      return { ok: false, error: errorText(error), policy: null };
    }
  },

  async revokeDevice({ device }, sender) {
    if (!fromOwnPage(sender) || typeof device !== 'string') return { ...notFromPage(), leftOut: [] };
    const identity = await loadIdentity();
    if (!identity) return { ok: false, error: t('errors.noAccountYet'), leftOut: [] };
    try {
      return { ok: true, error: null, leftOut: await revokeDevice(identity, device) };
    } catch (error) {
      return { ok: false, error: errorText(error), leftOut: [] };
    }
  },
};

/** Crash recovery and re-install on every worker start: rules, badge, notifications decided but not shown. */
async function onWorkerStart(): Promise<void> {
  await ensureSyncAlarm();
  await ensureDigestAlarm(await loadSettings());
  const identity = await loadIdentity();
  await installSelfBlockRules(identity?.pixelBase ?? null);
  await deliverPending();
  await updateBadge();
  kickOutbox();
}

/**
 * Wires every listener at once (a service worker must register them in its first turn), then resolves when
 * the worker's start-up work is done; the entrypoint does not wait, tests do.
 */
export function startBackground(): Promise<void> {
  on(handlers);

  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === SYNC_ALARM) void tick().catch((e) => console.warn('[openping] sync tick failed', e));
    if (alarm.name === OUTBOX_ALARM) kickOutbox();
    const remind = trackerOfReminderAlarm(alarm.name);
    // Catch up with the server first: an open that came while the worker slept cancels "if not opened".
    if (remind) {
      void tick()
        .catch((e) => console.warn('[openping] sync before a reminder failed', e))
        .then(() => fireReminder(remind))
        .catch((e) => console.warn('[openping] reminder failed', e));
    }
    if (alarm.name === DIGEST_ALARM) void loadSettings().then((s) => deliverDigest(s)).catch((e) => console.warn('[openping] digest failed', e));
  });

  // Returns its work's promise: Chrome ignores a listener's result, and a caller that awaits the event can await it.
  const onNotificationClicked = (id: string) => {
    const tracker = trackerOfNotification(id);
    if (!tracker) return;
    return (async () => {
      await openThread(tracker);
      await browser.notifications.clear(id);
      await markSeen(tracker);
    })().catch((e) => console.warn('[openping] could not open the thread', e));
  };
  browser.notifications.onClicked.addListener(onNotificationClicked);
  // e2e builds only (lib/config.ts): the test clicks a notification through the listener itself.
  if (testHooks) Object.assign(globalThis, { __openpingNotificationClicked: onNotificationClicked });

  // The options page writes settings straight to storage: the digest alarm follows them.
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && STORAGE_KEYS.settings in changes) void loadSettings().then((s) => ensureDigestAlarm(s));
  });

  browser.runtime.onInstalled.addListener(({ reason }) => {
    void markActive().then(tick).catch((e) => console.warn('[openping] first start failed', e));
    // A first install opens the setup page (issue 15 item 5); updates and reloads do not.
    if (reason === 'install' && openSetupOnInstall) {
      void browser.tabs.create({ url: browser.runtime.getURL('/onboarding.html') }).catch((e) => console.warn('[openping] could not open the setup page', e));
    }
  });
  browser.runtime.onStartup.addListener(() => {
    void tick().catch((e) => console.warn('[openping] startup sync failed', e));
  });

  return onWorkerStart().catch((e) => console.warn('[openping] worker start failed', e));
}

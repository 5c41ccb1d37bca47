/**
 * The popup's model (STYLE §8): signals owned here, components only read
 * them. Reads IndexedDB directly (same extension origin); every change goes
 * through the background, which owns the writes.
 */
import { computed, signal, type ReadonlySignal, type Signal } from '@preact/signals';
import { browser } from 'wxt/browser';
import { isAnyApp } from '../anyapp';
import { db, type EmailRecord, type HitRecord } from '../db';
import { send } from '../messages';
import { DATA_CHANGED, STORAGE_KEYS, initialStatus, loadIdentity, loadStatus, type ConnectionStatus } from '../settings';
import { emailState } from './format';

export type Filter = 'all' | 'opened' | 'unopened';

/** Rows read before the first paint: enough to fill the popup, cheap with 10,000 stored. */
export const FIRST_PAGE = 30;

const haystacks = new WeakMap<EmailRecord, string>();

function haystack(email: EmailRecord): string {
  let text = haystacks.get(email);
  if (text === undefined) {
    text = [email.subject ?? email.tracker, ...email.recipients.flatMap((r) => [r.name ?? '', r.address])]
      .join('\n')
      .toLowerCase();
    haystacks.set(email, text);
  }
  return text;
}

export function matches(email: EmailRecord, query: string, filter: Filter): boolean {
  // A reply is the strongest proof of reading: replied emails are "opened" for the filters.
  const read = emailState(email) === 'opened' || emailState(email) === 'replied';
  if (filter === 'opened' && !read) return false;
  if (filter === 'unopened' && read) return false;
  const q = query.trim().toLowerCase();
  return q === '' || haystack(email).includes(q);
}

export interface EmailsModel {
  /** Every listed email, newest first (drafts excluded). */
  emails: ReadonlySignal<EmailRecord[]>;
  /** How many exist, known before all are read (for the scroll height). */
  total: ReadonlySignal<number>;
  /** False until the first page is read. */
  ready: ReadonlySignal<boolean>;
  /** True once every record is read (search covers everything). */
  complete: ReadonlySignal<boolean>;
  query: Signal<string>;
  filter: Signal<Filter>;
  visible: ReadonlySignal<EmailRecord[]>;
  selected: ReadonlySignal<EmailRecord | null>;
  selectedHits: ReadonlySignal<HitRecord[]>;
  status: ReadonlySignal<ConnectionStatus>;
  server: ReadonlySignal<string | null>;
  busy: ReadonlySignal<boolean>;
  load(): Promise<void>;
  select(tracker: string | null): Promise<void>;
  stopTracking(tracker: string): Promise<void>;
  /** Silences (or not) this email's notifications. */
  mute(tracker: string, muted: boolean): Promise<void>;
  remove(tracker: string): Promise<void>;
  openThread(tracker: string): Promise<void>;
  retry(): Promise<void>;
  /** Listens for changes from the background; returns the unsubscribe. */
  watch(): () => void;
}

function listed(email: EmailRecord): boolean {
  // A webmail draft is not listed; a pixel copied for another app is, from the moment it is copied.
  return email.tracking !== 'armed' || isAnyApp(email);
}

export function createEmailsModel(): EmailsModel {
  const emails = signal<EmailRecord[]>([]);
  const total = signal(0);
  const ready = signal(false);
  const complete = signal(false);
  const query = signal('');
  const filter = signal<Filter>('all');
  const selectedId = signal<string | null>(null);
  const selectedHits = signal<HitRecord[]>([]);
  const status = signal<ConnectionStatus>(initialStatus);
  const server = signal<string | null>(null);
  const busy = signal(false);

  const visible = computed(() => {
    const q = query.value;
    const f = filter.value;
    const all = emails.value;
    return q.trim() === '' && f === 'all' ? all : all.filter((e) => matches(e, q, f));
  });
  const selected = computed(() => emails.value.find((e) => e.tracker === selectedId.value) ?? null);

  async function readFirstPage(): Promise<void> {
    const database = await db();
    const tx = database.transaction('emails');
    const count = tx.store.count();
    const first: EmailRecord[] = [];
    let cursor = await tx.store.index('bySortAt').openCursor(null, 'prev');
    while (cursor && first.length < FIRST_PAGE) {
      if (listed(cursor.value)) first.push(cursor.value);
      cursor = await cursor.continue();
    }
    total.value = await count;
    if (!complete.value) emails.value = first;
    ready.value = true;
  }

  async function readAll(): Promise<void> {
    const database = await db();
    const all = await database.getAllFromIndex('emails', 'bySortAt');
    all.reverse();
    const list = all.filter(listed);
    emails.value = list;
    total.value = list.length;
    complete.value = true;
    ready.value = true;
  }

  async function loadHits(tracker: string | null): Promise<void> {
    if (!tracker) {
      selectedHits.value = [];
      return;
    }
    const hits = await (await db()).getAllFromIndex('hits', 'byTracker', tracker);
    hits.sort((a, b) => b.at - a.at);
    if (selectedId.value === tracker) selectedHits.value = hits;
  }

  async function refreshStatus(): Promise<void> {
    status.value = await loadStatus();
    server.value = (await loadIdentity())?.server ?? null;
  }

  return {
    emails,
    total,
    ready,
    complete,
    query,
    filter,
    visible,
    selected,
    selectedHits,
    status,
    server,
    busy,
    async load() {
      await Promise.all([refreshStatus(), readFirstPage().then(readAll)]);
      await loadHits(selectedId.value);
    },
    async select(tracker) {
      selectedId.value = tracker;
      await loadHits(tracker);
    },
    async stopTracking(tracker) {
      await send({ type: 'stopTracking', tracker });
      await readAll();
    },
    async mute(tracker, muted) {
      await send({ type: 'mute', tracker, muted });
      await readAll();
    },
    async remove(tracker) {
      await send({ type: 'deleteEmail', tracker });
      if (selectedId.value === tracker) await this.select(null);
      await readAll();
    },
    async openThread(tracker) {
      await send({ type: 'openThread', tracker });
    },
    async retry() {
      busy.value = true;
      try {
        await send({ type: 'syncNow' });
        await refreshStatus();
        await readAll();
      } finally {
        busy.value = false;
      }
    },
    watch() {
      const listener = (changes: Record<string, unknown>, area: string) => {
        if (area !== 'local') return;
        if (STORAGE_KEYS.status in changes || STORAGE_KEYS.identity in changes) void refreshStatus();
        if (DATA_CHANGED in changes) void readAll().then(() => loadHits(selectedId.value));
      };
      browser.storage.onChanged.addListener(listener);
      return () => browser.storage.onChanged.removeListener(listener);
    },
  };
}

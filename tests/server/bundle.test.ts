/**
 * The production build (`npm run build:server`, scripts/build-server.ts): built once, then run with
 * plain `node` — no TypeScript loader — from a working directory outside the checkout, so nothing
 * it needs can come from backend/ by accident. It must start, answer /healthz, and record a pixel
 * through its ingest worker, classified with the vendored address lists and the ASN data.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, startBundle, type BundleServer } from './bundle-run.ts';

let out: string;
let cwd: string;
let server: BundleServer;

beforeAll(async () => {
  out = await buildBundle();
  cwd = mkdtempSync(join(tmpdir(), 'openping-bundle-cwd-'));
  server = await startBundle(out, {
    cwd,
    env: {
      OPENPING_DB: join(cwd, 'openping.db'),
      OPENPING_PUBLIC_URL: 'https://track.example.com',
      OPENPING_TRUST_PROXY: 'loopback',
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('npm run build:server', () => {
  it('writes the server, its ingest worker and the address lists into the output folder', () => {
    for (const file of ['server.mjs', 'sqlite-ingest-worker.mjs', 'data/lists/google.txt']) expect(existsSync(join(out, file)), file).toBe(true);
  });

  it('runs with plain node: /healthz answers with no warnings for a public https URL', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, warnings: [] });
  });

  it('records a Gmail-proxy pixel fetch as an open with the network data', async () => {
    const created = await fetch(`${server.url}/v1/accounts`, { method: 'POST' });
    expect(created.status).toBe(201);
    const account = (await created.json()) as { account: string; token: string; pixelBase: string };
    expect(account.pixelBase).toBe(`https://track.example.com/p/${account.account}/`);
    const auth = { authorization: `Bearer ${account.token}` };
    const tracker = 'bundleTracker0000000001';
    // Sent ten minutes ago: a fetch seconds after sending would be a scanner's.
    const put = await fetch(`${server.url}/v1/trackers/${tracker}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'sent', sentAt: Date.now() - 10 * 60_000 }),
    });
    expect(put.status).toBe(200);
    const pixel = await fetch(`${server.url}/p/${account.account}/${tracker}.gif`, {
      headers: {
        'user-agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
        // From a trusted (loopback) peer, as a proxy in front would send it.
        'x-forwarded-for': '66.249.93.10',
      },
    });
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect((await pixel.arrayBuffer()).byteLength).toBe(43);
    // The read waits for the ingest worker (dist/sqlite-ingest-worker.mjs) to apply the hit.
    const view = (await (await fetch(`${server.url}/v1/trackers/${tracker}`, { headers: auth })).json()) as {
      hits: Array<{ kind: string; via: string | null; network: { prefix: string; asn: number | null } }>;
    };
    expect(view.hits).toHaveLength(1);
    // gmail-proxy needs the vendored Google list (dist/data/lists), the ASN the @ip-location-db data.
    expect(view.hits[0]).toMatchObject({ kind: 'open', via: 'gmail-proxy', network: { prefix: '66.249.93.0/24', asn: 15169 } });
  });
});

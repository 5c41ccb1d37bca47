/**
 * The production build (`npm run build:server`, scripts/build-server.ts): built once, then run with
 * plain `node` — no TypeScript loader — from a working directory outside the checkout, so nothing
 * it needs can come from backend/ by accident, configured by deploy/openping.env (only the port and
 * the database path changed). It must start, answer /healthz, and record a pixel through its ingest
 * worker, classified with the vendored address lists and the ASN data. And deploy/openping.service,
 * which runs it, must be a unit systemd accepts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, readEnvFile, startBundle, type BundleServer } from './bundle-run.ts';

const UNIT = 'deploy/openping.service';
const ENV_FILE = 'deploy/openping.env';

let out: string;
let cwd: string;
let server: BundleServer;

beforeAll(async () => {
  out = await buildBundle();
  cwd = mkdtempSync(join(tmpdir(), 'openping-bundle-cwd-'));
  server = await startBundle(out, {
    cwd,
    env: { ...readEnvFile(ENV_FILE), OPENPING_PORT: '0', OPENPING_DB: join(cwd, 'openping.db') },
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

/** `Key=value` settings of the unit's [Service] section, each key with all its values. */
function serviceSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]/.exec(line);
    if (header) section = header[1]!;
    const m = /^(\w+)=(.*)$/.exec(line);
    if (section === 'Service' && m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

describe('deploy/openping.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const settings = serviceSettings(text);
  const one = (key: string) => settings.get(key)?.at(-1);

  it('systemd-analyze verify reports nothing (with node and the checkout at this machine\'s paths)', async () => {
    const analyze = '/usr/bin/systemd-analyze';
    if (!existsSync(analyze)) throw new Error(`${analyze} is missing: this test checks the unit with Debian's systemd package; install it with \`apt-get install -y systemd\` (.ci/run does).`);
    // verify checks that ExecStart's program exists, so the paths are this machine's; nothing else changes.
    const dir = mkdtempSync(join(tmpdir(), 'openping-unit-'));
    try {
      const unit = join(dir, 'openping.service');
      writeFileSync(unit, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/openping', process.cwd()));
      const { stdout, stderr } = await promisify(execFile)(analyze, ['verify', unit]).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${stdout}${stderr}`.trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the bundle with plain node, from the settings file, sandboxed', () => {
    expect(one('ExecStart')).toMatch(/^\/usr\/bin\/node (--[\w-]+(=\w+)? )*\/opt\/openping\/dist\/server\.mjs$/);
    expect(one('EnvironmentFile')).toBe('/etc/openping/openping.env');
    expect(Object.fromEntries(['DynamicUser', 'StateDirectory', 'ProtectSystem', 'NoNewPrivileges', 'ProtectHome', 'PrivateTmp'].map((k) => [k, one(k)]))).toEqual({
      DynamicUser: 'yes',
      StateDirectory: 'openping',
      ProtectSystem: 'strict',
      NoNewPrivileges: 'yes',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
    });
  });

  it('keeps the database of deploy/openping.env in its state directory, the one place it may write', () => {
    expect(dirname(readEnvFile(ENV_FILE).OPENPING_DB!)).toBe(`/var/lib/${one('StateDirectory')}`);
  });
});


describe("the README's Deploy section", () => {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## Deploy\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/^```[\w-]*\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!);

  /** A file as the README quotes it: comment lines dropped, runs of blank lines made one. */
  function quoted(file: string): string {
    const lines: string[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim().startsWith('#')) continue;
      if (line.trim() === '' && (lines.length === 0 || lines.at(-1) === '')) continue;
      lines.push(line.trimEnd());
    }
    while (lines.at(-1) === '') lines.pop();
    return lines.join('\n');
  }

  it.each(['deploy/openping.env', 'deploy/openping.service', 'deploy/Caddyfile', 'deploy/nginx/openping.conf'])('quotes %s as it is', (file) => {
    expect(start).toBeGreaterThan(0);
    expect(blocks).toContain(quoted(file));
  });

  it('builds with the command CI runs', () => {
    expect(section).toContain('npm ci\nnpm run build:server\n');
  });
});

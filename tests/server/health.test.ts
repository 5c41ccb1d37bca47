/**
 * /healthz says when the server cannot work as configured (SPEC §3, issue 15
 * item 1): the public URL's warnings from the start, and `forwarded-untrusted`
 * once forwarding headers arrive from a peer OPENPING_TRUST_PROXY does not
 * name — seen on the pixel's fast path and on node:http alike — each warning
 * logged once.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTrustProxy } from '../../backend/config.ts';
import { json, newAccount, putTracker, startTestServer, trackerId, type Running } from './helpers.ts';

interface Health {
  ok: boolean;
  warnings: Array<{ code: string; message: string }>;
}

const health = async (s: Running) => json<Health>(await fetch(`${s.url}/healthz`));
const codes = async (s: Running) => (await health(s)).warnings.map((w) => w.code);
/** Log lines (pino JSON) that carry this warning code. */
const logged = (s: Running, code: string) =>
  s
    .logs()
    .split('\n')
    .filter((line) => line.includes(`"code":"${code}"`));
const handOvers = async (s: Running) => (await s.server.metrics.handOvers.get()).values[0]?.value ?? 0;

/** Sends raw requests on one connection (the last with Connection: close) and returns all that came back. */
function exchange(s: Running, requests: string[]): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(requests.map((r, i) => r.replace('\r\n\r\n', i === requests.length - 1 ? '\r\nConnection: close\r\n\r\n' : '\r\n\r\n')).join(''));
  });
}

const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: ping.example\r\n${headers}\r\n`;

const running: Running[] = [];
async function start(...args: Parameters<typeof startTestServer>): Promise<Running> {
  const s = await startTestServer(...args);
  running.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

describe('the public URL', () => {
  it('an https public name: no warning', async () => {
    const s = await start({ publicUrl: 'https://track.example.com' });
    expect(await health(s)).toEqual({ ok: true, warnings: [] });
  });

  it('the default http://localhost:8787: two warnings, each logged once at the start', async () => {
    const s = await start({ publicUrl: 'http://localhost:8787' });
    const answer = await health(s);
    expect(answer.ok).toBe(true);
    expect(answer.warnings.map((w) => w.code)).toEqual(['public-url-local', 'public-url-http']);
    await health(s);
    expect(logged(s, 'public-url-local')).toHaveLength(1);
    expect(logged(s, 'public-url-http')).toHaveLength(1);
  });
});

describe('forwarded-untrusted', () => {
  it('after a forwarded pixel on the fast path from an untrusted peer, logged once', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', accountsPerHour: 100 });
    const a = await newAccount(s.url);
    const t = trackerId();
    await putTracker(s.url, a, t);
    expect(await codes(s)).toEqual([]);
    const before = await handOvers(s);
    const answer = await exchange(s, [get(`/p/${a.account}/${t}.gif`, 'X-Forwarded-For: 198.51.100.7\r\n')]);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await handOvers(s)).toBe(before);
    expect(await codes(s)).toEqual(['forwarded-untrusted']);
    const [warning] = (await health(s)).warnings;
    expect(warning?.message).toMatch(/OPENPING_TRUST_PROXY/);
    // Only the kept /24 of the peer, never a full address.
    expect(warning?.message).toContain('127.0.0.0/24');
    expect(warning?.message).not.toMatch(/127\.0\.0\.1\b/);
    await exchange(s, [get(`/p/${a.account}/${t}.gif`, 'Forwarded: for=198.51.100.7\r\n'), get(`/p/${a.account}/${t}.gif`, 'X-Forwarded-For: 198.51.100.8\r\n')]);
    expect(await codes(s)).toEqual(['forwarded-untrusted']);
    expect(logged(s, 'forwarded-untrusted')).toHaveLength(1);
    expect(s.logs()).not.toContain('198.51.100.');
  });

  it('after a Forwarded pixel that node:http serves (a connection handed over)', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', accountsPerHour: 100 });
    const a = await newAccount(s.url);
    const t = trackerId();
    await putTracker(s.url, a, t);
    const before = await handOvers(s);
    await exchange(s, [get('/metrics'), get(`/p/${a.account}/${t}.gif`, 'Forwarded: for=198.51.100.7\r\n')]);
    expect(await handOvers(s)).toBe(before + 1);
    expect(await codes(s)).toEqual(['forwarded-untrusted']);
    expect(logged(s, 'forwarded-untrusted')).toHaveLength(1);
  });

  it('after an API request with X-Forwarded-For from an untrusted peer', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', accountsPerHour: 100 });
    await newAccount(s.url, { 'x-forwarded-for': '198.51.100.7' });
    expect(await codes(s)).toEqual(['forwarded-untrusted']);
    expect(logged(s, 'forwarded-untrusted')).toHaveLength(1);
  });

  it('also when a trusted proxy is configured but the peer is not it', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', trustProxy: parseTrustProxy('10.0.0.0/8') });
    await fetch(`${s.url}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(await codes(s)).toEqual(['forwarded-untrusted']);
  });

  it('never from a trusted peer, on either path, with either header', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', accountsPerHour: 100, trustProxy: parseTrustProxy('loopback') });
    const a = await newAccount(s.url, { 'x-forwarded-for': '198.51.100.7' });
    const t = trackerId();
    await putTracker(s.url, a, t);
    await exchange(s, [get(`/p/${a.account}/${t}.gif`, 'X-Forwarded-For: 198.51.100.7\r\nForwarded: for=198.51.100.8\r\n')]);
    await exchange(s, [get('/metrics', 'X-Forwarded-For: 198.51.100.7\r\n'), get(`/p/${a.account}/${t}.gif`, 'Forwarded: for=198.51.100.8\r\n')]);
    expect(await health(s)).toEqual({ ok: true, warnings: [] });
    // The trusted proxy's X-Forwarded-For decided the network; its Forwarded did not (issue 15 item 2).
    const prefixes = (await s.server.store.trackerHits(a.account, t)).map((h) => h.hit.network.prefix);
    expect(prefixes.sort()).toEqual(['127.0.0.0/24', '198.51.100.0/24']);
  });

  it('with OPENPING_PROXY_HEADER=forwarded, Forwarded decides and X-Forwarded-For is ignored on both paths', async () => {
    const s = await start({ publicUrl: 'https://track.example.com', accountsPerHour: 100, trustProxy: parseTrustProxy('loopback'), proxyHeader: 'forwarded' });
    const a = await newAccount(s.url);
    const fast = trackerId();
    const node = trackerId();
    await putTracker(s.url, a, fast);
    await putTracker(s.url, a, node);
    const both = 'X-Forwarded-For: 203.0.113.9\r\nForwarded: for="[2001:db8:cafe::17]:4711"\r\n';
    await exchange(s, [get(`/p/${a.account}/${fast}.gif`, both), get(`/p/${a.account}/${fast}.gif`, 'X-Forwarded-For: 203.0.113.9\r\n')]);
    await exchange(s, [get('/metrics'), get(`/p/${a.account}/${node}.gif`, both), get(`/p/${a.account}/${node}.gif`, 'X-Forwarded-For: 203.0.113.9\r\n')]);
    for (const id of [fast, node]) {
      const prefixes = (await s.server.store.trackerHits(a.account, id)).map((h) => h.hit.network.prefix);
      expect(prefixes.sort()).toEqual(['127.0.0.0/24', '2001:db8:cafe::/48']);
    }
  });
});

describe('bad configuration', () => {
  /** `npm run server` (backend/main.ts) with env; resolves with its exit code and output. */
  function runServer(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
        cwd: new URL('../..', import.meta.url).pathname,
        env: { ...process.env, OPENPING_HOST: '127.0.0.1', OPENPING_PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it.each([
    ['OPENPING_PUBLIC_URL', 'track.example.com'],
    ['OPENPING_TRUST_PROXY', 'loopback, proxy.example.com'],
    ['OPENPING_PROXY_HEADER', 'x-real-ip'],
  ])('%s=%s: the server does not start, and says why in one line naming the variable', async (name, value) => {
    const { code, stdout, stderr } = await runServer({ [name]: value });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^OpenPing: ${name}\\b.*\\.$`));
  });
});

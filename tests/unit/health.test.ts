/**
 * The configuration warnings of /healthz (SPEC §3, issue 15 item 1) and the
 * configuration the server refuses to start with (issue 15, "Bad input").
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../backend/config.ts';
import { LOCAL_RANGES, LOCAL_SUFFIXES, localHost, publicUrlWarnings } from '../../backend/health.ts';
import { parseCidr } from '../../backend/ipdata/ip.ts';

const codes = (url: string) => publicUrlWarnings(url).map((w) => w.code);

describe('public-url-local', () => {
  it.each([
    // loopback (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3), also in the notations WHATWG URL reads as IPv4
    'https://localhost',
    'https://localhost.',
    'https://LOCALHOST:8787',
    'https://app.localhost',
    'https://127.0.0.1',
    'https://127.1.2.3:8443/x',
    'https://0x7f.1',
    'https://2130706433',
    'https://127.0.0.1.',
    'https://[::1]',
    'https://[::1]:8787',
    'https://[::ffff:127.0.0.1]',
    'https://[0:0:0:0:0:0:0:1]',
    // unspecified (RFC 1122, RFC 4291 §2.5.2)
    'https://0.0.0.0',
    'https://[::]',
    // private (RFC 1918), shared address space / CGNAT (RFC 6598), unique local (RFC 4193)
    'https://10.1.2.3',
    'https://172.16.0.1',
    'https://172.31.255.255',
    'https://192.168.1.10',
    'https://100.64.0.1',
    'https://100.127.255.254',
    'https://[fd12:3456:789a::1]',
    'https://[fc00::1]',
    // link-local (RFC 3927, RFC 4291 §2.5.6)
    'https://169.254.1.1',
    'https://[fe80::1]',
    // single-label names, and names reserved for local use
    'https://openping',
    'https://openping.',
    'https://printer.local',
    'https://printer.local.',
    'https://track.internal',
    'https://track.lan',
    'https://nas.home.arpa',
    'https://nas.HOME.ARPA.',
  ])('%s', (url) => {
    expect(codes(url)).toEqual(['public-url-local']);
  });

  it.each([
    'https://track.example.com',
    'https://track.example.com.',
    'https://8.8.8.8',
    'https://[2001:4860:4860::8888]',
    'https://172.32.0.1',
    'https://100.128.0.1',
    'https://192.169.0.1',
    'https://localhost.example.com',
    'https://local.example.com',
    'https://internal.example.com',
    'https://mylan.com',
    'https://home.arpa.example.com',
    'https://track.example.com/openping',
  ])('%s is public', (url) => {
    expect(codes(url)).toEqual([]);
  });

  it('says why, per kind of host', () => {
    expect(localHost('localhost')).toMatch(/machine itself/);
    expect(localHost('[::1]')).toMatch(/loopback/);
    expect(localHost('100.64.0.1')).toMatch(/carrier-grade NAT/);
    expect(localHost('openping')).toMatch(/without a dot/);
    expect(localHost('track.example.com')).toBeNull();
  });

  it('its tables are data with a source for every entry, and no entry twice', () => {
    for (const range of LOCAL_RANGES) {
      expect(parseCidr(range.cidr), range.cidr).not.toBeNull();
      expect(range.source).toMatch(/RFC \d+/);
    }
    for (const name of LOCAL_SUFFIXES) expect(name.source).toMatch(/RFC \d+|ICANN/);
    expect(new Set(LOCAL_RANGES.map((r) => r.cidr)).size).toBe(LOCAL_RANGES.length);
    expect(new Set(LOCAL_SUFFIXES.map((n) => n.suffix)).size).toBe(LOCAL_SUFFIXES.length);
  });

  it('says what to do in one sentence naming the variable', () => {
    const [warning] = publicUrlWarnings('https://192.168.1.10:8443');
    expect(warning?.message).toMatch(/^OPENPING_PUBLIC_URL .*192\.168\.1\.10.*\.$/);
    expect(warning?.message.match(/\. /g)).toBeNull();
  });
});

describe('public-url-http', () => {
  it('warns for http, not for https', () => {
    expect(codes('http://track.example.com')).toEqual(['public-url-http']);
    expect(codes('https://track.example.com')).toEqual([]);
  });

  it('both warnings for the default http://localhost:8787', () => {
    expect(codes(loadConfig({}).publicUrl)).toEqual(['public-url-local', 'public-url-http']);
    for (const w of publicUrlWarnings('http://localhost:8787')) {
      expect(w.message).toContain('OPENPING_PUBLIC_URL');
      expect(w.message.endsWith('.')).toBe(true);
    }
  });
});

describe('bad configuration stops the start with one sentence naming the variable', () => {
  const refused = (env: NodeJS.ProcessEnv, variable: string) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(variable)).toBe(true);
    expect(message.endsWith('.')).toBe(true);
    return message;
  };

  it.each(['track.example.com', 'localhost:8787', 'ftp://track.example.com', 'https://', 'not a url', 'https://user:secret@track.example.com', 'https://track.example.com/?a=1', 'https://track.example.com/#x'])(
    'OPENPING_PUBLIC_URL=%s',
    (value) => {
      const message = refused({ OPENPING_PUBLIC_URL: value }, 'OPENPING_PUBLIC_URL');
      expect(message).not.toContain('secret');
    },
  );

  it.each(['10.0.0.0/33', 'localhost', '*', 'true', '10.0.0.1/8/1', '300.1.1.1', 'fe80::/129', 'loopback;10.0.0.0/8'])('OPENPING_TRUST_PROXY=%s', (value) => {
    refused({ OPENPING_TRUST_PROXY: value }, 'OPENPING_TRUST_PROXY');
  });

  it.each(['x-real-ip', 'both', 'X-Forwarded-For, Forwarded', 'xff'])('OPENPING_PROXY_HEADER=%s', (value) => {
    refused({ OPENPING_PROXY_HEADER: value }, 'OPENPING_PROXY_HEADER');
  });

  it('takes the two header names in any case, x-forwarded-for by default', () => {
    expect(loadConfig({}).proxyHeader).toBe('x-forwarded-for');
    expect(loadConfig({ OPENPING_PROXY_HEADER: '' }).proxyHeader).toBe('x-forwarded-for');
    expect(loadConfig({ OPENPING_PROXY_HEADER: 'Forwarded' }).proxyHeader).toBe('forwarded');
    expect(loadConfig({ OPENPING_PROXY_HEADER: ' X-Forwarded-For ' }).proxyHeader).toBe('x-forwarded-for');
  });

  it('accepts keywords, addresses and CIDRs of both families in OPENPING_TRUST_PROXY', () => {
    expect(loadConfig({ OPENPING_TRUST_PROXY: 'loopback, uniquelocal linklocal,203.0.113.7,2001:db8::/32' }).trustProxy.length).toBe(2 + 4 + 2 + 2);
  });
});

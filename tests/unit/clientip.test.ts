/**
 * The client address behind proxies (SPEC §3, issue 15 item 2): the TCP peer,
 * or — only from a peer OPENPING_TRUST_PROXY names — the right-most hop of the
 * one configured forwarding header that is not itself a trusted proxy. The
 * other header is never read.
 */
import { describe, expect, it } from 'vitest';
import { clientAddress, type ProxyHeader } from '../../backend/clientip.ts';
import { parseTrustProxy } from '../../backend/config.ts';
import { formatIp } from '../../backend/ipdata/ip.ts';

const LOOPBACK = parseTrustProxy('loopback');

function client(peer: string | undefined, headers: { forwarded?: string | string[]; 'x-forwarded-for'?: string | string[] }, trust = LOOPBACK, header: ProxyHeader = 'x-forwarded-for'): string | null {
  const ip = clientAddress(peer, headers, { trust, header });
  return ip === null ? null : formatIp(ip);
}

describe('without a trusted proxy', () => {
  it('is the TCP peer whatever the headers say', () => {
    const headers = { 'x-forwarded-for': '198.51.100.7', forwarded: 'for=203.0.113.9' };
    expect(client('192.0.2.1', headers, [])).toBe('192.0.2.1');
    expect(client('192.0.2.1', headers, [], 'forwarded')).toBe('192.0.2.1');
  });

  it('is the peer when the peer is not one of the trusted proxies', () => {
    expect(client('192.0.2.1', { 'x-forwarded-for': '198.51.100.7' })).toBe('192.0.2.1');
    expect(client('::ffff:192.0.2.1', { 'x-forwarded-for': '198.51.100.7' })).toBe('192.0.2.1');
  });

  it('is null without a readable peer', () => {
    expect(client(undefined, { 'x-forwarded-for': '198.51.100.7' })).toBeNull();
    expect(client('', {})).toBeNull();
  });
});

describe('X-Forwarded-For (the default)', () => {
  it('takes the right-most hop that is not a trusted proxy', () => {
    // What nginx's $proxy_add_x_forwarded_for sends when the client forged a header of its own.
    expect(client('127.0.0.1', { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' })).toBe('198.51.100.7');
    expect(client('127.0.0.1', { 'x-forwarded-for': '6.6.6.6,198.51.100.7' })).toBe('198.51.100.7');
  });

  it('walks a chain of trusted proxies', () => {
    const trust = parseTrustProxy('loopback, 10.0.0.0/8, 2001:db8:1::/48');
    expect(client('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.2.3, 2001:db8:1::5' }, trust)).toBe('198.51.100.7');
    // Every hop trusted: the furthest one is the best that can be known.
    expect(client('127.0.0.1', { 'x-forwarded-for': '10.1.2.3, 10.4.5.6' }, trust)).toBe('10.1.2.3');
  });

  it('reads IPv6 hops with and without brackets and ports, and IPv4 hops with ports', () => {
    expect(client('::1', { 'x-forwarded-for': '2001:db8::7' })).toBe('2001:db8:0:0:0:0:0:7');
    expect(client('::1', { 'x-forwarded-for': '[2001:db8::7]' })).toBe('2001:db8:0:0:0:0:0:7');
    expect(client('::1', { 'x-forwarded-for': '[2001:db8::7]:4711' })).toBe('2001:db8:0:0:0:0:0:7');
    expect(client('127.0.0.1', { 'x-forwarded-for': '198.51.100.7:4711' })).toBe('198.51.100.7');
    expect(client('127.0.0.1', { 'x-forwarded-for': ' 198.51.100.7 ' })).toBe('198.51.100.7');
    expect(client('::ffff:127.0.0.1', { 'x-forwarded-for': '::ffff:198.51.100.7' })).toBe('198.51.100.7');
  });

  it('joins repeated header lines in order', () => {
    expect(client('127.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.7'] })).toBe('198.51.100.7');
  });

  it('ignores Forwarded, present or not', () => {
    expect(client('127.0.0.1', { 'x-forwarded-for': '198.51.100.7', forwarded: 'for=203.0.113.9' })).toBe('198.51.100.7');
    // A client behind nginx sends its own Forwarded: it must not decide the address.
    expect(client('127.0.0.1', { forwarded: 'for=203.0.113.9' })).toBe('127.0.0.1');
  });

  it('stops at a hop it cannot read: what lies to its left is the client\'s word', () => {
    expect(client('127.0.0.1', { 'x-forwarded-for': '198.51.100.7, unknown' })).toBe('127.0.0.1');
    expect(client('127.0.0.1', { 'x-forwarded-for': 'garbage, 198.51.100.7' })).toBe('198.51.100.7');
    expect(client('127.0.0.1', { 'x-forwarded-for': '' })).toBe('127.0.0.1');
    expect(client('127.0.0.1', { 'x-forwarded-for': ',,,' })).toBe('127.0.0.1');
    expect(client('127.0.0.1', { 'x-forwarded-for': '999.1.1.1' })).toBe('127.0.0.1');
    expect(client('127.0.0.1', { 'x-forwarded-for': '[::1' })).toBe('127.0.0.1');
  });
});

describe('Forwarded (OPENPING_PROXY_HEADER=forwarded)', () => {
  const fwd = (peer: string, headers: Parameters<typeof client>[1], trust = LOOPBACK) => client(peer, headers, trust, 'forwarded');

  it('takes the right-most for= that is not a trusted proxy (RFC 7239 §5.2)', () => {
    expect(fwd('127.0.0.1', { forwarded: 'for=6.6.6.6, for=198.51.100.7;proto=https' })).toBe('198.51.100.7');
    expect(fwd('127.0.0.1', { forwarded: 'proto=https;For=198.51.100.7;by=127.0.0.1' })).toBe('198.51.100.7');
  });

  it('walks a chain of trusted proxies', () => {
    const trust = parseTrustProxy('loopback,10.0.0.0/8');
    expect(fwd('127.0.0.1', { forwarded: 'for=198.51.100.7, for=10.0.0.2, for=10.0.0.3' }, trust)).toBe('198.51.100.7');
  });

  it('reads quoted IPv6 with and without a port, and IPv4 with a port', () => {
    expect(fwd('::1', { forwarded: 'for="[2001:db8:cafe::17]:4711"' })).toBe('2001:db8:cafe:0:0:0:0:17');
    expect(fwd('::1', { forwarded: 'for="[2001:db8:cafe::17]"' })).toBe('2001:db8:cafe:0:0:0:0:17');
    expect(fwd('127.0.0.1', { forwarded: 'for="198.51.100.7:4711"' })).toBe('198.51.100.7');
  });

  it('is not misled by commas and semicolons inside quoted values', () => {
    expect(fwd('127.0.0.1', { forwarded: 'for=198.51.100.7;ext="a, for=6.6.6.6; b"' })).toBe('198.51.100.7');
    expect(fwd('127.0.0.1', { forwarded: 'for=6.6.6.6;ext="x\\",y", for=198.51.100.7' })).toBe('198.51.100.7');
  });

  it('a malformed part to the left of the proxy\'s own element does not spoil it', () => {
    // Read from the right: the client's part cannot swallow the trusted proxy's element with an open quote.
    expect(fwd('127.0.0.1', { forwarded: 'for="unterminated, for=198.51.100.7' })).toBe('198.51.100.7');
    expect(fwd('127.0.0.1', { forwarded: 'for="[2001:db8::1, for="198.51.100.7:80"' })).toBe('198.51.100.7');
    expect(fwd('127.0.0.1', { forwarded: '=;;garbage, for=198.51.100.7' })).toBe('198.51.100.7');
  });

  it('stops at an obfuscated or unknown node (RFC 7239 §6.2–6.3)', () => {
    expect(fwd('127.0.0.1', { forwarded: 'for=198.51.100.7, for=unknown' })).toBe('127.0.0.1');
    expect(fwd('127.0.0.1', { forwarded: 'for=198.51.100.7, for=_hidden' })).toBe('127.0.0.1');
    expect(fwd('127.0.0.1', { forwarded: 'by=127.0.0.1' })).toBe('127.0.0.1');
  });

  it('ignores X-Forwarded-For, present or not', () => {
    expect(fwd('127.0.0.1', { forwarded: 'for=198.51.100.7', 'x-forwarded-for': '203.0.113.9' })).toBe('198.51.100.7');
    expect(fwd('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
  });
});

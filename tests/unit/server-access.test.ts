/**
 * Which host permission the options page asks for a tracking server. Firefox 153 ESR refused
 * `permissions.request({ origins: ['http://localhost:<port>/*'] })` under the manifest's optional
 * `http://localhost/*` — even for the build's own server, granted at install — so "Test connection" and
 * "Save" said OpenPing lacked permission (tests/e2e-firefox, issue 18).
 */
import { describe, expect, it } from 'vitest';
import { grantedAtInstall, originPattern } from '../../lib/state/options';

describe('originPattern', () => {
  it('keeps the port for Chrome, where a pattern without one matches every port', () => {
    expect(originPattern('http://localhost:8787', false)).toBe('http://localhost:8787/*');
    expect(originPattern('https://track.example.com', false)).toBe('https://track.example.com/*');
  });

  it('drops the port for Firefox, whose patterns take none', () => {
    expect(originPattern('http://localhost:8787', true)).toBe('http://localhost/*');
    expect(originPattern('https://track.example.com:8443/', true)).toBe('https://track.example.com/*');
    expect(originPattern('http://[::1]:8787', true)).toBe('http://[::1]/*');
  });
});

describe('grantedAtInstall', () => {
  it('is true for the server the manifest grants (MV2 permissions, MV3 host_permissions), false for others', () => {
    const mv2 = { manifest_version: 2, permissions: ['storage', 'http://localhost:8787/*'] };
    const mv3 = { manifest_version: 3, permissions: ['storage'], host_permissions: ['https://track.example.com/*'] };
    expect(grantedAtInstall('http://localhost:8787/', mv2)).toBe(true);
    expect(grantedAtInstall('http://localhost:9999', mv2)).toBe(false);
    expect(grantedAtInstall('https://track.example.com', mv3)).toBe(true);
    expect(grantedAtInstall('https://other.example.com', mv3)).toBe(false);
  });
});

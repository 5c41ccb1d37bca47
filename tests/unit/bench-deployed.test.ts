/**
 * tests/bench/deployed.ts: the benches run the server as deploy/openping.service
 * does, so its reading of the unit must be exact — or refuse.
 */
import { describe, expect, it } from 'vitest';
import { deployed, describe as describeUnit } from '../bench/deployed.ts';

const unit = (service: string) => `[Unit]\nDescription=x\n\n[Service]\n${service}\n`;

describe('deployed()', () => {
  it("takes node's options from ExecStart and the environment from Environment= and the settings file, the file's winning", () => {
    const d = deployed(unit('ExecStart=/usr/bin/node --a --b=2 /opt/openping/dist/server.mjs\nEnvironment=M=1 N=2\nEnvironment=P=3'), '# c\nOPENPING_X=1\n\nM=9\n');
    expect(d.nodeArgs).toEqual(['--a', '--b=2']);
    expect(d.unitEnv).toEqual({ M: '1', N: '2', P: '3' });
    expect(d.settings).toEqual({ OPENPING_X: '1', M: '9' });
    expect(d.env).toEqual({ M: '9', N: '2', P: '3', OPENPING_X: '1' });
    expect(describeUnit(d)).toBe('M=1 N=2 P=3 node --a --b=2 dist/server.mjs');
  });

  it('refuses what it would have to guess at', () => {
    expect(() => deployed(unit('Environment=M=1'), '')).toThrow('expected one ExecStart= line, found 0');
    expect(() => deployed(unit('ExecStart=/usr/bin/node a.mjs'), '')).toThrow('ExecStart is not');
    expect(() => deployed(unit('ExecStart=/usr/bin/node "--a b" /o/dist/server.mjs'), '')).toThrow('ExecStart is not');
    expect(() => deployed(unit('ExecStart=/usr/bin/node /o/dist/server.mjs\nEnvironment="M=1 2"'), '')).toThrow('plain KEY=value only');
    expect(() => deployed(unit('ExecStart=/usr/bin/node /o/dist/server.mjs'), 'not a setting')).toThrow('cannot read the line');
  });

  it('reads deploy/openping.service and deploy/openping.env as they are', () => {
    const d = deployed();
    expect(d.nodeArgs).toContain('--max-semi-space-size=2');
    expect(d.settings.OPENPING_TRUST_PROXY).toBe('loopback');
  });
});

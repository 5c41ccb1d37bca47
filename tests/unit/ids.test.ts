import { describe, expect, it } from 'vitest';
import { ID_PATTERN, randomId } from '../../lib/ids';

describe('randomId', () => {
  it('mints 128-bit base64url ids that fit the SPEC pattern', () => {
    const id = randomId();
    expect(id).toHaveLength(22);
    expect(id).toMatch(ID_PATTERN);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => randomId()));
    expect(ids.size).toBe(10_000);
  });
});

/**
 * Every intermediary the classifier can report as `via` has a name the popup
 * and notifications show (lib/state/format.ts), not the raw id.
 */
import { describe, expect, it } from 'vitest';
import { NETWORK_PREFIXES, NETWORKS } from '../../backend/classify/data/networks.ts';
import { UA_SIGNATURES } from '../../backend/classify/data/user-agents.ts';
import { viaLabel } from '../../lib/state/format.ts';

describe('via names', () => {
  it('names every via of the signatures, the security networks, the lists and Proton', () => {
    const vias = new Set<string>(['proton-proxy', 'microsoft-defender', 'proofpoint']);
    for (const s of UA_SIGNATURES) if (s.via) vias.add(s.via);
    for (const n of [...NETWORKS, ...NETWORK_PREFIXES]) if (n.vendor) vias.add(n.vendor.via);
    for (const via of vias) {
      const label = viaLabel(via);
      expect(label, via).not.toBe(via);
      expect(label, via).toMatch(/^[A-Z]/);
    }
  });
});

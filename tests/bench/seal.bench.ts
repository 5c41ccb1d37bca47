/**
 * Issue 21: what sealing and pairing cost on this machine (Node's WebCrypto, as Chromium's is
 * BoringSSL too). The pairing derivation's cost is also what each offline guess at a pairing secret
 * costs whoever holds the database (lib/pairing-protocol.ts).
 */
import { deriveKeys, newSecret, PBKDF2_ITERATIONS } from '../../lib/pairing-protocol';
import { generateAccountKey, openSealed, seal } from '../../lib/seal';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function sealBench(): Promise<void> {
  const derivations: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await deriveKeys(newSecret());
    derivations.push(performance.now() - started);
  }
  console.log(`pairing key derivation (PBKDF2-SHA-256 × ${PBKDF2_ITERATIONS.toLocaleString('en')} + HKDF): median ${median(derivations).toFixed(0)} ms of 5`);

  const key = await generateAccountKey();
  const tracker = 'AAAAAAAAAAAAAAAAAAAAAA';
  const plain = JSON.stringify({ v: 1, fields: { subject: { value: 'Quarterly numbers and the plan for next year', t: 1 }, recipients: { value: [{ name: 'Ann', address: 'ann@example.com' }], t: 1 } } });
  const n = 2000;
  let sealed = '';
  let started = performance.now();
  for (let i = 0; i < n; i++) sealed = await seal(key, tracker, plain);
  const sealMs = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < n; i++) await openSealed(key, tracker, sealed);
  const openMs = performance.now() - started;
  console.log(`seal: ${((sealMs / n) * 1000).toFixed(0)} µs per blob; open: ${((openMs / n) * 1000).toFixed(0)} µs per blob (${n} blobs of ${plain.length} bytes, sealed ${sealed.length} characters)`);
}

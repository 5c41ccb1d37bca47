/** Size of each built script, gzipped: content scripts are held to 25 KB (issues 5, 6). */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export default async function bundleSizes(): Promise<void> {
  const out = '.output/chrome-mv3';
  execFileSync('npx', ['wxt', 'build'], { stdio: 'ignore' });
  if (!existsSync(out)) throw new Error(`${out} missing after the build`);
  const rows: Array<[string, number, number]> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.js')) {
        const raw = readFileSync(path);
        rows.push([path.slice(out.length + 1), raw.length, gzipSync(raw, { level: 9 }).length]);
      }
    }
  };
  walk(out);
  for (const [file, raw, gz] of rows.sort()) {
    const budget = file.startsWith('content-scripts/') ? `  (budget 25.0 KB: ${gz <= 25_000 ? 'within' : 'OVER'})` : '';
    console.log(`${file.padEnd(48)} ${(raw / 1000).toFixed(1).padStart(7)} KB  ${(gz / 1000).toFixed(1).padStart(6)} KB gzipped${budget}`);
  }
}

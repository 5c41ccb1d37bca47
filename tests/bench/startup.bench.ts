/**
 * Cold start to healthy, and resident memory (targets: ≤ 1 s with the IP data
 * loaded, ≤ 200 MB RSS — issue 3). Each run spawns a fresh server process the
 * way `npm run server` does (node + tsx) on a fresh SQLite file and port 0,
 * waits for its "listening" log line and polls /healthz every 5 ms; RSS is read from /proc after a burst of traffic.
 *
 * The TypeScript loader (tsx) alone takes ~0.5 s and ~35 MB on this machine
 * (Node 20 cannot strip types itself), so the same server is also started
 * from an esbuild bundle with plain node, and tsx's own start is timed: the
 * three lines separate the server's cost from the loader's.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/** backend/main.ts as one ESM file inside node_modules/.cache (so packages and data still resolve). */
async function bundle(): Promise<string> {
  const out = 'node_modules/.cache/openping/bench';
  mkdirSync(out, { recursive: true });
  const esbuild = (await import(ESBUILD)) as { build(o: Record<string, unknown>): Promise<unknown> };
  await esbuild.build({
    // The SQLite store's ingest worker is a module of its own, loaded next to the bundle.
    entryPoints: { main: 'backend/main.ts', 'sqlite-ingest-worker': 'backend/store/sqlite-ingest-worker.ts' },
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: out,
    logLevel: 'error',
  });
  return join(out, 'main.mjs');
}
// esbuild comes with the extension's build tools (wxt/vite); typed loosely here on purpose.
const ESBUILD = 'esbuild';

async function loaderOnly(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve) => spawn(process.execPath, ['--import', 'tsx', '-e', '0'], { stdio: 'ignore' }).once('exit', () => resolve()));
  return performance.now() - started;
}

async function once(dir: string, i: number, args: string[]): Promise<{ healthyMs: number; rssIdle: number; rssLoaded: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, OPENPING_PORT: '0', OPENPING_DB: join(dir, `run${i}`, 'openping.db'), OPENPING_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  try {
    // Port 0: the server picks a free port and logs its URL when listening; then /healthz is polled.
    let url = '';
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`);
      url ||= /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1] ?? '';
      if (url) {
        try {
          if ((await fetch(`${url}/healthz`)).ok) break;
        } catch {
          // not answering yet
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const healthyMs = performance.now() - started;
    const rssIdle = rssMb(child.pid!);
    const { account, token } = (await (await fetch(`${url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
    const tracker = 'StartupTracker01234567';
    await fetch(`${url}/v1/trackers/${tracker}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: '{"state":"sent"}' });
    for (let k = 0; k < 20; k++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(`${url}/p/${account}/${tracker}.gif`, { headers: { 'x-n': String(j), 'user-agent': `bench/${k}.${j}` } }).then((r) => r.arrayBuffer()),
        ),
      );
    }
    await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    return { healthyMs, rssIdle, rssLoaded: rssMb(child.pid!) };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

export default async function startupBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-startup-'));
  try {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const bundled = await bundle();
    const variants: Array<[string, string[]]> = [
      ['node --import tsx backend/main.ts (npm run server)', ['--import', 'tsx', 'backend/main.ts']],
      ['node on an esbuild bundle of backend/main.ts', [bundled]],
    ];
    const loader: number[] = [];
    const results = new Map<string, Array<{ healthyMs: number; rssIdle: number; rssLoaded: number }>>(variants.map(([n]) => [n, []]));
    // Interleaved, so a busy moment of the shared machine hits every variant.
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of variants) results.get(name)!.push(await once(dir, results.size * i + results.get(name)!.length, args));
      loader.push(await loaderOnly());
    }
    console.log(`cold start to healthy (fresh SQLite file, ASN + geo data loaded), ${RUNS} runs each; targets ≤ 1000 ms, ≤ 200 MB:`);
    for (const [name, rs] of results) {
      console.log(`  ${name}`);
      console.log(`    each: ${rs.map((r) => r.healthyMs.toFixed(0)).join(', ')} ms; median ${median(rs.map((r) => r.healthyMs)).toFixed(0)} ms`);
      console.log(
        `    RSS when healthy: median ${median(rs.map((r) => r.rssIdle)).toFixed(0)} MB; after 1,000 pixel hits + a feed read: max ${Math.max(...rs.map((r) => r.rssLoaded)).toFixed(0)} MB`,
      );
    }
    console.log(`  for scale, \`node --import tsx -e 0\` (the loader alone, start to exit): median ${median(loader).toFixed(0)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Cold start to healthy, and resident memory (targets: ≤ 1 s with the IP data
 * loaded; ≤ 128 MB RSS when healthy and after a load, so the server fits a
 * 256 MB machine — issue 15, item 8). Each run spawns a fresh server process on
 * a fresh SQLite file and port 0, waits for its "listening" log line and polls
 * /healthz every 5 ms. RSS (VmRSS, and its anonymous and file-backed parts) is
 * read from /proc when healthy and again after the load: 10,000 pixel hits on
 * 10 trackers, each from another client network (X-Forwarded-For from a
 * trusted loopback proxy, so the ASN, geo and list lookups run for thousands
 * of /24s and /48s), with the feed read through every 500 hits.
 *
 * The servers, all with the settings of deploy/openping.env (the port and the
 * database file aside):
 * - `npm run server` (node + tsx; the TypeScript loader alone takes ~0.5 s and
 *   ~35 MB, so its own start is timed too);
 * - the bundle of `npm run build:server` with plain `node` and no options;
 * - the same bundle as deploy/openping.service runs it: its ExecStart options
 *   and its Environment= lines, read from the unit (./deployed.ts), so the
 *   figure is that of what is deployed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle, deployed, describe } from './deployed.ts';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);

interface Rss {
  total: number;
  anon: number;
  file: number;
}

function rssMb(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** Clock ticks per second for /proc/<pid>/stat: 100 on Linux (sysconf(_SC_CLK_TCK)), as getconf CLK_TCK says here. */
const CLOCK_TICKS = 100;

function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name's ')': field 3 (state) first, so utime (14) and stime (15) are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const HITS = 10_000;
const TRACKERS = 10;
const CONCURRENCY = 50;
const FEED_EVERY = 500;

/** A deterministic spread of public client addresses: mostly IPv4, every tenth IPv6. */
function clientAddress(i: number): string {
  // A multiplicative hash walks the space without repeating for far more than HITS steps.
  const x = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  if (i % 10 === 9) return `2a0${(x >>> 28) & 7}:${((x >>> 12) & 0xffff).toString(16)}:${(x & 0xfff).toString(16)}::1`;
  const a = 1 + ((x >>> 24) % 223);
  return `${a === 10 || a === 127 ? a + 1 : a}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${(x & 255) | 1}`;
}

async function loaderOnly(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve) => spawn(process.execPath, ['--import', 'tsx', '-e', '0'], { stdio: 'ignore' }).once('exit', () => resolve()));
  return performance.now() - started;
}

interface Run {
  healthyMs: number;
  /**
   * CPU time the server used until healthy, all threads, user + system (/proc/<pid>/stat
   * fields 14 and 15, man 5 proc): less inflated than the wall time when the machine is busy.
   */
  cpuMs: number;
  rssIdle: Rss;
  rssLoaded: Rss;
  /** After the load, from the server's own /metrics (prom-client's process and V8 figures), MB. */
  heapUsed: number;
  external: number;
}

async function once(dir: string, i: number, args: string[], env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...env,
      OPENPING_PORT: '0',
      OPENPING_DB: join(dir, `run${i}`, 'openping.db'),
      OPENPING_LOG_LEVEL: 'info',
      OPENPING_TRUST_PROXY: 'loopback',
      OPENPING_PROXY_HEADER: 'x-forwarded-for',
      // Every hit recorded (none shed by the per-tracker or per-account hourly caps).
      OPENPING_FLOOD_CAP: '1000000',
      OPENPING_ACCOUNT_HITS_PER_HOUR: '100000000',
    },
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
    const cpuMs = cpuTimeMs(child.pid!);
    const rssIdle = rssMb(child.pid!);
    const { account, token } = (await (await fetch(`${url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
    const auth = { authorization: `Bearer ${token}` };
    const trackers = Array.from({ length: TRACKERS }, (_, t) => `StartupTracker${String(t).padStart(8, '0')}`);
    for (const tracker of trackers) await fetch(`${url}/v1/trackers/${tracker}`, { method: 'PUT', headers: auth, body: '{"state":"sent"}' });
    let cursor: string | null = null;
    const readFeed = async () => {
      for (;;) {
        const page = (await (await fetch(`${url}/v1/events${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`, { headers: auth })).json()) as {
          events: unknown[];
          cursor: string;
        };
        cursor = page.cursor;
        if (page.events.length === 0) return;
      }
    };
    for (let sent = 0; sent < HITS; sent += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, HITS - sent) }, (_, j) => {
          const n = sent + j;
          return fetch(`${url}/p/${account}/${trackers[n % TRACKERS]}.gif`, {
            headers: { 'x-forwarded-for': clientAddress(n), 'user-agent': `Mozilla/5.0 (bench ${n % 97})` },
          }).then((r) => r.arrayBuffer());
        }),
      );
      if ((sent + CONCURRENCY) % FEED_EVERY === 0) await readFeed();
    }
    await readFeed();
    const rssLoaded = rssMb(child.pid!);
    const text = await (await fetch(`${url}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) / 2 ** 20;
    return { healthyMs, cpuMs, rssIdle, rssLoaded, heapUsed: gauge('openping_nodejs_heap_size_used_bytes'), external: gauge('openping_nodejs_external_memory_bytes') };
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
    const bundled = buildBundle('bench-startup');
    const unit = deployed();
    const variants: Array<[string, string[], Record<string, string>]> = [
      ['node --import tsx backend/main.ts (npm run server)', ['--import', 'tsx', 'backend/main.ts'], unit.settings],
      ['bundle, plain: node dist/server.mjs', [bundled], unit.settings],
      [`bundle as deploy/openping.service runs it: ${describe(unit)}`, [...unit.nodeArgs, bundled], unit.env],
    ];
    // BENCH_STARTUP_ONLY=bundle or =deploy (a substring of the names) runs fewer variants.
    const only = process.env.BENCH_STARTUP_ONLY;
    if (only) variants.splice(0, variants.length, ...variants.filter(([n]) => n.includes(only)));
    const loader: number[] = [];
    const results = new Map<string, Run[]>(variants.map(([n]) => [n, []]));
    // Interleaved, so a busy moment of the shared machine hits every variant.
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args, env] of variants) results.get(name)!.push(await once(dir, results.size * i + results.get(name)!.length, args, env));
      loader.push(await loaderOnly());
    }
    console.log(`cold start to healthy (fresh SQLite file, ASN + geo + address lists loaded), ${RUNS} runs each; targets ≤ 1000 ms, ≤ 128 MB:`);
    const mb = (rs: Run[], pick: (r: Run) => Rss) => {
      const m = (f: (x: Rss) => number) => median(rs.map((r) => f(pick(r)))).toFixed(0);
      return `median ${m((x) => x.total)} MB (anonymous ${m((x) => x.anon)}, file-backed ${m((x) => x.file)}), max ${Math.max(...rs.map((r) => pick(r).total)).toFixed(0)} MB`;
    };
    for (const [name, rs] of results) {
      console.log(`  ${name}`);
      console.log(`    each: ${rs.map((r) => r.healthyMs.toFixed(0)).join(', ')} ms; median ${median(rs.map((r) => r.healthyMs)).toFixed(0)} ms`);
      console.log(`    CPU time to healthy (all threads): ${rs.map((r) => r.cpuMs.toFixed(0)).join(', ')} ms; median ${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms`);
      console.log(`    RSS when healthy: ${mb(rs, (r) => r.rssIdle)}`);
      console.log(`    RSS after ${HITS.toLocaleString('en')} pixel hits from as many networks + feed reads: ${mb(rs, (r) => r.rssLoaded)}`);
      console.log(`      of which V8 heap used ${median(rs.map((r) => r.heapUsed)).toFixed(0)} MB, external (buffers) ${median(rs.map((r) => r.external)).toFixed(0)} MB (medians)`);
    }
    console.log('  summary, medians: healthy RSS / RSS after the load / cold start (CPU time to healthy)');
    for (const [name, rs] of results) {
      const m = (f: (r: Run) => number) => median(rs.map(f)).toFixed(0);
      console.log(`    ${m((r) => r.rssIdle.total)} MB / ${m((r) => r.rssLoaded.total)} MB / ${m((r) => r.healthyMs)} ms (${m((r) => r.cpuMs)} ms)  ${name}`);
    }
    console.log(`  for scale, \`node --import tsx -e 0\` (the loader alone, start to exit): median ${median(loader).toFixed(0)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

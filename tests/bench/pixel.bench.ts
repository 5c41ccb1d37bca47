/**
 * Pixel throughput with durable storage, side by side in one run with a bare
 * node:http server answering the same GIF and storing nothing (and nginx's
 * empty_gif when nginx is installed), all on 127.0.0.1, at 50 connections.
 * Rounds alternate between the servers so a shared, busy machine hurts all
 * of them alike; the medians and the ratio are printed. Beside them, two
 * floors (durable-floor.ts): the least a server answering only after a
 * durable write can do here, with and without keeping each hit as an SQLite
 * row — what the ratio could reach with the pixel's own work at zero cost.
 * Then a fixed number of requests checks recorded hits against answered requests.
 * Targets (issue 3): ≥ 0.8× bare node:http, p99 ≤ 10 ms, recorded = answered.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from '../../backend/store/sqlite-driver.ts';
import { buildBundle, deployed, describe } from './deployed.ts';

const run = promisify(execFile);
const WRK = '/usr/bin/wrk';
const NGINX = '/usr/sbin/nginx';
const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FIXED_REQUESTS = 20_000;
const TRACKERS = 50;
const MORE_CONNECTIONS = 200;
/** The wrk script that spreads requests over the trackers (set once the trackers exist). */
let script: string | null = null;
/** A server's own script by its host:port (its own account and trackers); `script` for the others. */
const scripts = new Map<string, string>();

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const BARE = `
const http = require('node:http');
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const H = { 'content-type': 'image/gif', 'content-length': '43', 'cache-control': 'no-cache, no-store, must-revalidate, max-age=0', pragma: 'no-cache', expires: '0' };
const s = http.createServer((req, res) => { res.writeHead(200, H); res.end(GIF); });
s.listen(0, '127.0.0.1', () => console.log('port=' + s.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(url: string, connections = CONNECTIONS): Promise<Result> {
  const args = ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--latency', ...((scripts.get(new URL(url).host) ?? script) ? ['-s', (scripts.get(new URL(url).host) ?? script)!] : []), url];
  const { stdout } = await run(WRK, args, { timeout: (SECONDS + 30) * 1000 });
  const p50 = /50%\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '';
  const p99 = /99%\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '';
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors:.*?timeout (\d+)/.exec(stdout)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50: ms(p50),
    p99: ms(p99),
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1]),
    errors,
  };
}

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
// autocannon ships no type declarations; this is the part of its result used here (its README, "Results").
type Autocannon = (options: { url: string; connections: number; amount?: number; duration?: number }) => Promise<CannonResult>;
const AUTOCANNON = 'autocannon';

async function cannon(url: string, amount?: number): Promise<Result> {
  const autocannon = ((await import(AUTOCANNON)) as { default: Autocannon }).default;
  const r = await autocannon({ url, connections: CONNECTIONS, ...(amount ? { amount } : { duration: SECONDS }) });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r['2xx'], errors: r.non2xx + r.errors + r.timeouts };
}

/** fsync latency of a 4 KB append on the benchmark's filesystem: the floor under any durable answer. */
function fsyncProbe(dir: string): { p50: number; p90: number; p99: number } {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      writeSync(fd, block);
      const t = performance.now();
      fsyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  times.sort((a, b) => a - b);
  return { p50: times[150]!, p90: times[270]!, p99: times[297]! };
}

/**
 * CPU time (user + system, all threads) a process has used, in µs, from /proc/<pid>/stat
 * fields 14 and 15 (utime, stime, in clock ticks — man 5 proc); null where /proc is missing.
 * System time includes the kernel's loopback TCP work done in the server's syscalls.
 */
async function cpuMicros(pid: number | undefined, tick: number): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / tick;
  } catch {
    return null;
  }
}

async function clockTick(): Promise<number> {
  try {
    return Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  } catch {
    return 100;
  }
}

/** A wrk script asking the paths in turn (wrk's SCRIPTING: request()). */
const rotateScript = (paths: string[]) =>
  `local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }\nlocal i = 0\n` +
  'request = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function pixelBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openping-bench-'));
  const db = join(dir, 'openping.db');
  const children: ChildProcess[] = [];
  try {
    const bare = spawn(process.execPath, ['-e', BARE], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(bare);
    const barePort = (await waitForLine(bare, /port=(\d+)/, 'bare node:http'))[1];

    const ours = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], {
      env: { ...process.env, OPENPING_PORT: '0', OPENPING_DB: db, OPENPING_FLOOD_CAP: '1000000', OPENPING_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(ours);
    const oursUrl = (await waitForLine(ours, /"url":"(http:\/\/[^"]+)"/, 'OpenPing server'))[1]!;
    const account = (await (await fetch(`${oursUrl}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
    // The rounds spread their requests over TRACKERS trackers (wrk script below), so no tracker
    // passes the flood cap (1,000,000 an hour at most) and every answered request is a stored hit —
    // a dropped fetch writes only a tiny record and would flatter the figure. The
    // recorded-vs-answered check uses a tracker of its own.
    const trackers = Array.from({ length: TRACKERS }, (_, i) => `BenchTracker${String(i).padStart(10, '0')}`);
    const checked = 'BenchTrackerChecked0001';
    for (const t of [...trackers, checked]) {
      await fetch(`${oursUrl}/v1/trackers/${t}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${account.token}` },
        body: JSON.stringify({ state: 'sent' }),
      });
    }
    const paths = trackers.map((t) => `/p/${account.account}/${t}.gif`);
    const path = paths[0]!;
    // wrk asks each request of this script (wrk's SCRIPTING: request()); every server gets the same one.
    writeFileSync(join(dir, 'rotate.lua'), rotateScript(paths));
    script = join(dir, 'rotate.lua');

    // The floor under any durable server here (durable-floor.ts): the same durability with nothing
    // parsed or classified — once with only the log, once also keeping each hit as an SQLite row.
    const floorDb = join(dir, 'floor', 'openping.db');
    const floors: Array<[string, ChildProcess]> = [];
    for (const sqlite of [false, true]) {
      const floorDir = join(dir, sqlite ? 'floor' : 'floor-log');
      mkdirSync(floorDir);
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/bench/durable-floor.ts'], {
        env: { ...process.env, FLOOR_DB: sqlite ? floorDb : join(floorDir, 'openping.db'), FLOOR_SQLITE: sqlite ? '1' : '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      floors.push([(await waitForLine(child, /port=(\d+)/, 'durable floor'))[1]!, child]);
    }
    // The bundle of `npm run build:server`, with plain node and as deploy/openping.service runs it (its
    // node options and Environment=, ./deployed.ts), both with the unit's settings file: what the
    // unit's options cost, side by side. Each has its own database, account, trackers and wrk script.
    const bundled = buildBundle('bench-pixel');
    const unit = deployed();
    const bundles: Array<[string, string, number, () => number]> = [];
    const readers: Array<InstanceType<typeof Database>> = [];
    for (const [name, args, env] of [
      ['OpenPing bundle, plain node', [bundled], unit.settings],
      [`OpenPing bundle as the unit runs it`, [...unit.nodeArgs, bundled], unit.env],
    ] as Array<[string, string[], Record<string, string>]>) {
      const bundleDir = join(dir, `bundle${bundles.length}`);
      mkdirSync(bundleDir);
      const child = spawn(process.execPath, args, {
        env: { ...process.env, ...env, OPENPING_HOST: '127.0.0.1', OPENPING_PORT: '0', OPENPING_DB: join(bundleDir, 'openping.db'), OPENPING_FLOOD_CAP: '1000000', OPENPING_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const url = (await waitForLine(child, /"url":"(http:\/\/[^"]+)"/, name))[1]!;
      const own = (await (await fetch(`${url}/v1/accounts`, { method: 'POST' })).json()) as { account: string; token: string };
      for (const t of trackers) {
        await fetch(`${url}/v1/trackers/${t}`, { method: 'PUT', headers: { authorization: `Bearer ${own.token}` }, body: JSON.stringify({ state: 'sent' }) });
      }
      const ownPaths = trackers.map((t) => `/p/${own.account}/${t}.gif`);
      const ownScript = join(bundleDir, 'rotate.lua');
      writeFileSync(ownScript, rotateScript(ownPaths));
      scripts.set(new URL(url).host, ownScript);
      const rows = new Database(join(bundleDir, 'openping.db'), { readonly: true });
      readers.push(rows);
      bundles.push([name, `${url}${ownPaths[0]}`, child.pid!, () => (rows.prepare('SELECT count(*) AS n FROM hits').get() as { n: number }).n]);
    }
    console.log(`the unit runs: ${describe(unit)}`);
    const targets: Array<[string, string, number?]> = [
      ['bare node:http (nothing stored)', `http://127.0.0.1:${barePort}${path}`, bare.pid],
      ['OpenPing (durable SQLite)', `${oursUrl}${path}`, ours.pid],
      ['floor: durable log only', `http://127.0.0.1:${floors[0]![0]}${path}`, floors[0]![1].pid],
      ['floor: durable log + SQLite rows', `http://127.0.0.1:${floors[1]![0]}${path}`, floors[1]![1].pid],
      ...bundles.map(([name, url, pid]): [string, string, number] => [name, url, pid]),
    ];
    if (existsSync(NGINX)) {
      const nginxPort = 20_000 + Math.floor(Math.random() * 20_000);
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log; daemon off;
         events { worker_connections 1024; }
         http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
           server { listen 127.0.0.1:${nginxPort}; location /p/ { empty_gif; } } }`,
      );
      const nginx = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: 'ignore' });
      children.push(nginx);
      await new Promise((r) => setTimeout(r, 500));
      if (nginx.exitCode === null) targets.push(['nginx empty_gif (1 worker)', `http://127.0.0.1:${nginxPort}${path}`]);
    }

    const disk = fsyncProbe(dir);
    console.log(
      `machine: load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; fsync of a 4 KB append p50 ${disk.p50.toFixed(2)} ms, p90 ${disk.p90.toFixed(2)} ms, p99 ${disk.p99.toFixed(2)} ms`,
    );
    const useWrk = existsSync(WRK);
    const load = useWrk ? wrk : (url: string) => cannon(url);
    console.log(
      `load: ${useWrk ? `wrk -t1 (requests spread over ${TRACKERS} trackers by a script)` : 'autocannon (one tracker)'} -c${CONNECTIONS}, ${SECONDS} s per round, ${ROUNDS} rounds alternating, 127.0.0.1`,
    );
    for (const [, url] of targets) await load(url); // warm-up (JIT, caches)
    // Hits answered are durable in the hit log; a worker applies them to SQLite after the burst
    // (backend/store/hitlog.ts). Each of our rounds waits for that before the next server's round,
    // so its catching up never runs during another server's measurement, and reports how long it took.
    const reader = new Database(db, { readonly: true });
    const floorReader = new Database(floorDb, { readonly: true });
    const countIn = (r: InstanceType<typeof Database>) => (r.prepare('SELECT count(*) AS n FROM hits').get() as { n: number }).n;
    const count = () => countIn(reader);
    const settle = async (expected?: number, rows = count): Promise<number> => {
      const started = performance.now();
      let last = -1;
      for (;;) {
        const n = rows();
        if (expected !== undefined ? n >= expected : n === last) break;
        if (performance.now() - started > 60_000) break;
        last = n;
        await new Promise((r) => setTimeout(r, 100));
      }
      return performance.now() - started;
    };
    await settle();
    const catchUp: number[] = [];
    const tick = await clockTick();
    const results = new Map<string, Result[]>(targets.map(([name]) => [name, []]));
    const cpuPerRequest = new Map<string, number[]>(targets.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, url, pid] of targets) {
        const before = await cpuMicros(pid, tick);
        const result = await load(url);
        const after = await cpuMicros(pid, tick);
        if (pid === ours.pid) catchUp.push(await settle());
        if (pid === floors[1]![1].pid) await settle(undefined, () => countIn(floorReader));
        const bundle = bundles.find((b) => b[2] === pid);
        if (bundle) await settle(undefined, bundle[3]);
        results.get(name)!.push(result);
        if (before !== null && after !== null && result.requests > 0) cpuPerRequest.get(name)!.push((after - before) / result.requests);
      }
    }
    const summary = new Map<string, { rps: number; p50: number; p99: number }>();
    for (const [name, rs] of results) {
      const s = { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) };
      summary.set(name, s);
      const errors = rs.reduce((a, r) => a + r.errors, 0);
      const cpu = cpuPerRequest.get(name)!;
      console.log(
        `${name.padEnd(34)} ${s.rps.toFixed(0).padStart(7)} req/s (rounds: ${rs.map((r) => r.rps.toFixed(0)).join(', ')})  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  errors ${errors}` +
          (cpu.length > 0 ? `  server CPU ${median(cpu).toFixed(1)} µs/req` : ''),
      );
    }
    const oursRps = summary.get(targets[1]![0])!.rps;
    const bareRps = summary.get(targets[0]![0])!.rps;
    console.log(`OpenPing / bare node:http throughput: ${(oursRps / bareRps).toFixed(2)}× (target ≥ 0.80×)`);
    console.log(
      `floors / bare node:http: durable log only ${(summary.get(targets[2]![0])!.rps / bareRps).toFixed(2)}×, ` +
        `durable log + SQLite rows ${(summary.get(targets[3]![0])!.rps / bareRps).toFixed(2)}× ` +
        '(durable-floor.ts: nothing parsed, classified or encoded — the most this durability, and this store, leave room for here)',
    );
    const [plainRps, unitRps] = bundles.map(([name]) => summary.get(name)!.rps);
    console.log(`the bundle as the unit runs it / with plain node: ${(unitRps! / plainRps!).toFixed(2)}× (${describe(unit)})`);
    console.log(`OpenPing p99 at ${CONNECTIONS} connections: ${summary.get(targets[1]![0])!.p99.toFixed(2)} ms (target ≤ 10 ms)`);
    console.log(
      `OpenPing: hit log applied to SQLite ${catchUp.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')} after each round ended ` +
        '(hits are durable in the log when answered; the worker applies them at low priority)',
    );

    // At 50 connections each client waits for its own answer, so a durable answer's fdatasync
    // (~0.3 ms under load) caps what 50 clients can ask; with more clients waiting at once the
    // same syncs carry more hits. For scale only — the target is set at 50.
    if (useWrk) {
      const more: Record<'bare' | 'ours', number[]> = { bare: [], ours: [] };
      for (let round = 0; round < ROUNDS; round++) {
        more.bare.push((await wrk(targets[0]![1], MORE_CONNECTIONS)).rps);
        more.ours.push((await wrk(targets[1]![1], MORE_CONNECTIONS)).rps);
        await settle();
      }
      console.log(
        `at ${MORE_CONNECTIONS} connections: bare node:http ${median(more.bare).toFixed(0)} req/s, OpenPing ${median(more.ours).toFixed(0)} req/s: ` +
          `${(median(more.ours) / median(more.bare)).toFixed(2)}× (rounds: ${more.ours.map((r) => r.toFixed(0)).join(', ')} vs ${more.bare.map((r) => r.toFixed(0)).join(', ')})`,
      );
    }

    // Recorded vs answered: a fixed number of requests, every response awaited.
    const before = count();
    const fixed = await cannon(`${oursUrl}/p/${account.account}/${checked}.gif`, FIXED_REQUESTS);
    await settle(before + fixed.requests);
    await settle();
    const recorded = count() - before;
    console.log(
      `recorded vs answered: ${recorded} hits stored for ${fixed.requests} answered 200s of ${FIXED_REQUESTS} sent (${recorded === fixed.requests ? 'equal' : 'DIFFERENT'}); autocannon p99 ${fixed.p99} ms`,
    );
    reader.close();
    floorReader.close();
    for (const r of readers) r.close();
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

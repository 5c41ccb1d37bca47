/**
 * `npm run build:server [-- --outdir <dir>]`: the tracking server as plain JavaScript, so production
 * runs `node dist/server.mjs` with no TypeScript loader (issue 15; tsx alone costs ~0.5 s and ~35 MB
 * at start, tests/bench/startup.bench.ts).
 *
 * What goes where:
 * - `server.mjs`: backend/main.ts and backend/ (esbuild, ESM), with `*-<hash>.mjs` chunks beside
 *   it: code it shares with the worker, and each store, loaded when that store is used.
 * - `sqlite-ingest-worker.mjs`: the SQLite store's ingest worker, a module of its own because it runs
 *   in a worker thread; backend/store/sqlite-ingest.ts looks for it beside the bundle.
 * - `data/lists/*.txt`: the vendored address lists (backend/classify/data/lists); backend/classify/
 *   network.ts reads them beside the bundle (`./data/lists/`).
 * - npm packages stay external and are resolved at run time from the checkout's node_modules (Node
 *   walks up from dist/): better-sqlite3 and its Node 20 alias better-sqlite3-v12 are native addons
 *   that `npm ci` installed for this machine's Node and backend/store/sqlite-driver.ts picks between at
 *   run time; pg, pino and the rest load as they are; the @ip-location-db data (~100 MB) is read from
 *   its packages. So the output is tied to the checkout it was built in: `npm ci` there first.
 *
 * Last, the ASN table's cache (node_modules/.cache/openping, backend/ipdata/asn.ts) is written now, as
 * the user running the build: a service under ProtectSystem=strict cannot write it, and without it
 * every start converts the CSV again (into the service's private temp directory, a few seconds).
 */
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { loadAsnTable } from '../backend/ipdata/asn.ts';

const LISTS = 'backend/classify/data/lists';

function outdirArg(argv: string[]): string {
  const i = argv.indexOf('--outdir');
  if (i < 0) return 'dist';
  const value = argv[i + 1];
  if (!value || value.startsWith('--')) {
    console.error('build:server: --outdir needs a folder name.');
    process.exit(2);
  }
  return value;
}

async function buildServer(outdir: string): Promise<void> {
  const out = resolve(outdir);
  // A fresh folder: nothing of an older build (a renamed chunk, a removed list) stays behind.
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: { server: 'backend/main.ts', 'sqlite-ingest-worker': 'backend/store/sqlite-ingest-worker.ts' },
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // The PostgreSQL store (and with it the pg package) in a chunk of its own, loaded only when
    // OPENPING_DB is a postgres:// URL (backend/store/index.ts imports it dynamically): in one file,
    // pg and its modules were loaded at every start, ~0.1 s and their heap, for the SQLite default.
    // Chunks sit beside server.mjs (esbuild's default '[name]-[hash]'): code in them finds the
    // worker and the lists relative to its own file (import.meta.url), as from server.mjs.
    splitting: true,
    // Stack traces in the logs point into backend/*.ts with `node --enable-source-maps` (deploy/openping.service).
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  mkdirSync(join(out, 'data'), { recursive: true });
  cpSync(LISTS, join(out, 'data', 'lists'), { recursive: true, filter: (src) => !src.endsWith('.md') });
  if (readdirSync(join(out, 'data', 'lists')).filter((f) => f.endsWith('.txt')).length === 0) {
    throw new Error(`build:server: no address lists in ${LISTS}; run npm run update-data`);
  }
}

const outdir = outdirArg(process.argv.slice(2));
await buildServer(outdir);
(await loadAsnTable()).close();
console.info(`build:server: ${join(outdir, 'server.mjs')} (run it with: node ${join(outdir, 'server.mjs')})`);

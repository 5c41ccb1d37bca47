/**
 * better-sqlite3, in the major version that works on the running Node.
 *
 * - Node 22 and later: 13.x, a Node-API addon shipped prebuilt in the package.
 *   12.x must not run there: on Node 24 its statements (V8 `ObjectWrap`s) abort
 *   the process when collected outside a context or after a worker's teardown —
 *   "Assertion failed: (env) != nullptr" in `Statement::~Statement()`
 *   (WiseLibs/better-sqlite3#1515, closed unfixed; seen here in the server suite
 *   and in `npm run reclassify`; also numtide/llm-agents.nix#8217).
 * - Node 20 (past its end of life, kept while machines have it): 12.x, installed
 *   under the alias `better-sqlite3-v12`; 13.x's prebuilt addon crashes on load there.
 *
 * Both are plain `require`s through createRequire, so a bundle (esbuild with
 * packages external) resolves them from node_modules at run time.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

// The ingest worker run from source is an esbuild CommonJS text (./sqlite-ingest.ts), where
// import.meta is empty and `require` is the one that text was given.
const load: NodeJS.Require = typeof import.meta.url === 'string' ? createRequire(import.meta.url) : require;

/** The Node major version from which better-sqlite3 13.x is used. */
export const NODE_API_FROM_MAJOR = 22;

const major = Number(process.versions.node.split('.')[0]);

/** The package name this process loads better-sqlite3 from. */
export const driverPackage = major >= NODE_API_FROM_MAJOR ? 'better-sqlite3' : 'better-sqlite3-v12';

const Database = load(driverPackage) as typeof BetterSqlite3;

export default Database;

/**
 * SQLite's page cache per connection, in KiB. better-sqlite3 builds SQLite with
 * SQLITE_DEFAULT_CACHE_SIZE=-16000 (16 MB per connection; deps/defines.gypi),
 * and the server has two (the event loop's and the ingest worker's): after a
 * burst both were full, ~30 MB of the C heap. SQLite's own default is 2 MB
 * (https://www.sqlite.org/pragma.html#pragma_cache_size); a page it drops is
 * read again from the OS's page cache, not the disk.
 */
export const PAGE_CACHE_KIB = 2048;

/** A connection with the page cache bounded (PAGE_CACHE_KIB). */
export function openDatabase(path: string, options?: BetterSqlite3.Options): BetterSqlite3.Database {
  const db = new Database(path, options);
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  return db;
}

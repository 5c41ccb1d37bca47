/**
 * The SQLite driver is the better-sqlite3 major that works on the running Node
 * (backend/store/sqlite-driver.ts). On Node 24, 12.x aborted the process when a
 * worker thread's statements were collected at its teardown; this runs that
 * pattern in a child process of the same Node and expects a clean exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import Database, { driverPackage, NODE_API_FROM_MAJOR, openDatabase, PAGE_CACHE_KIB } from '../../backend/store/sqlite-driver.ts';

const dir = mkdtempSync(join(tmpdir(), 'openping-driver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the SQLite driver', () => {
  it('is 13.x (Node-API) from Node 22 on and 12.x before', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const require = createRequire(import.meta.url);
    const { version } = require(`${driverPackage}/package.json`) as { version: string };
    expect(version.split('.')[0]).toBe(major >= NODE_API_FROM_MAJOR ? '13' : '12');
    const db = new Database(':memory:');
    expect(db.prepare('SELECT 1 + 1 AS two').get()).toEqual({ two: 2 });
    db.close();
  });

  it('opens connections with a small page cache (better-sqlite3 builds with 16 MB per connection)', () => {
    const path = join(dir, 'cache.db');
    const plain = new Database(path);
    expect(plain.pragma('cache_size', { simple: true })).toBe(-16000);
    plain.close();
    const db = openDatabase(path, { timeout: 5000 });
    expect(PAGE_CACHE_KIB).toBeLessThanOrEqual(4096);
    expect(db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    db.close();
  });

  it('survives statements collected in worker threads and at their teardown', () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve(driverPackage);
    const script = join(dir, 'workers.cjs');
    writeFileSync(
      script,
      `const { Worker, isMainThread } = require('node:worker_threads');
       const Database = require(${JSON.stringify(entry)});
       if (isMainThread) {
         let left = 4;
         for (let i = 0; i < 4; i++) new Worker(__filename).on('exit', () => { if (--left === 0) { globalThis.gc(); console.log('done'); } });
       } else {
         const db = new Database(':memory:');
         db.exec('CREATE TABLE t (x)');
         for (let i = 0; i < 2000; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
         for (let i = 0; i < 500; i++) db.pragma('user_version');
         globalThis.gc();
         // The database is left open on purpose: the thread ends with live statements.
       }`,
    );
    const run = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).not.toMatch(/Assertion failed|Segmentation/);
    expect({ status: run.status, signal: run.signal, out: run.stdout.trim() }).toEqual({ status: 0, signal: null, out: 'done' });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../backend/store/sqlite.ts';
import { storeContract } from './store-contract.ts';

let dir = mkdtempSync(join(tmpdir(), 'openping-store-'));

storeContract(
  'sqlite',
  (options) => openSqliteStore(join(dir, 'nested', 'openping.db'), options),
  () => {
    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'openping-store-'));
  },
);

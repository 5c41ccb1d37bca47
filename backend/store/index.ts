/**
 * Picks the store from OPENPING_DB (SPEC §4): a postgres:// or postgresql://
 * URL opens PostgreSQL (imported only then, so SQLite users never load pg);
 * anything else is a SQLite file path whose folder is created.
 */
import type { Store, StoreOptions } from './types.ts';

export * from './types.ts';

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(url)) {
    const { openPostgresStore } = await import('./postgres.ts');
    return openPostgresStore(url, options);
  }
  const { openSqliteStore } = await import('./sqlite.ts');
  return openSqliteStore(url, options);
}

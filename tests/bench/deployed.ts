/**
 * The server as deploy/openping.service runs it, for the benches: the bundle of
 * `npm run build:server`, started with the unit's `node` options (ExecStart) and
 * environment (Environment= lines, then deploy/openping.env as its
 * EnvironmentFile), so a bench measures what is deployed rather than a
 * hand-picked configuration. The unit's syntax is systemd.service(5) and
 * systemd.exec(5) (freedesktop.org/software/systemd/man/); only the forms the
 * unit uses are read, and anything else in those lines is refused rather than guessed at.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const UNIT = 'deploy/openping.service';
const SETTINGS = 'deploy/openping.env';

export interface Deployed {
  /** `node`'s options from ExecStart, before the bundle's path. */
  nodeArgs: string[];
  /** The unit's Environment= settings and its settings file's; the file's win (systemd.exec(5): "Settings from these files override settings made with Environment="). */
  env: Record<string, string>;
  /** The unit's Environment= settings alone (what it adds beyond the server's own settings). */
  unitEnv: Record<string, string>;
  /** The settings file's alone (the server's OPENPING_* settings). */
  settings: Record<string, string>;
}

/** `KEY=value` lines (settings file syntax, systemd.exec's EnvironmentFile=): comments and blanks skipped. */
function settings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`${SETTINGS}: cannot read the line ${JSON.stringify(t)}`);
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

export function deployed(unitText = readFileSync(UNIT, 'utf8'), settingsText = readFileSync(SETTINGS, 'utf8')): Deployed {
  const lines = unitText.split('\n').map((l) => l.trim());
  const exec = lines.filter((l) => l.startsWith('ExecStart='));
  if (exec.length !== 1) throw new Error(`${UNIT}: expected one ExecStart= line, found ${exec.length}`);
  const words = exec[0]!.slice('ExecStart='.length).split(/\s+/);
  if (!/\/node$/.test(words[0]!) || !words.at(-1)!.endsWith('/dist/server.mjs') || words.some((w) => /["'$%\\]/.test(w))) {
    throw new Error(`${UNIT}: ExecStart is not "<node> [options] <checkout>/dist/server.mjs" with plain words: ${exec[0]}`);
  }
  const unitEnv: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith('Environment='))) {
    for (const assignment of line.slice('Environment='.length).split(/\s+/)) {
      const eq = assignment.indexOf('=');
      if (eq <= 0 || /["'$%\\]/.test(assignment)) throw new Error(`${UNIT}: cannot read ${JSON.stringify(assignment)} (plain KEY=value only)`);
      unitEnv[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  const file = settings(settingsText);
  return { nodeArgs: words.slice(1, -1), env: { ...unitEnv, ...file }, unitEnv, settings: file };
}

/** The unit's command and environment as one line, for a bench's labels. */
export function describe(d: Deployed): string {
  return [...Object.entries(d.unitEnv).map(([k, v]) => `${k}=${v}`), 'node', ...d.nodeArgs, 'dist/server.mjs'].join(' ');
}

/**
 * `npm run build:server` into node_modules/.cache/openping/<name> (not dist/, which may be a
 * deployment's): the same script, so the bench runs the bundle that is deployed. Returns server.mjs's path.
 */
export function buildBundle(name: string): string {
  const out = join('node_modules', '.cache', 'openping', name);
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-server.ts', '--outdir', out], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build:server failed: ${built.stderr || built.stdout}`);
  return join(out, 'server.mjs');
}

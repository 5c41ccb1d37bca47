/**
 * `npm run update-data`: fetches every published address list the classifier
 * uses (backend/ipdata/list-sources.ts), normalises it (merged, sorted CIDRs)
 * and writes backend/classify/data/lists/<name>.txt with its source, date and
 * licence in the header. Then `npm run reclassify` re-labels stored hits.
 *
 *   npm run update-data                       fetch from the published addresses
 *   npm run update-data -- --from <dir>       read saved copies instead: <dir>/<name>.<any extension>;
 *                                             an optional <dir>/<name>.source.json
 *                                             {"snapshot": "…", "retrieved": "YYYY-MM-DD", "licence": "…"}
 *                                             says where the copy came from
 *   --out <dir>                               write elsewhere (default: the classifier's data)
 *   --only <name,…>                           just these lists
 *
 * A list that cannot be fetched or read leaves its old file alone and the run
 * ends with exit code 1, naming it; the others are still written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { normaliseCidrs } from '../backend/ipdata/cidr-lists.ts';
import { LIST_SOURCES, readPublishedList, type ListSource } from '../backend/ipdata/list-sources.ts';

export const DEFAULT_OUT = fileURLToPath(new URL('../backend/classify/data/lists/', import.meta.url));

interface Options {
  from: string | null;
  out: string;
  only: string[] | null;
  today: string;
  fetchText: (url: string) => Promise<string>;
  log: (line: string) => void;
}

interface Copy {
  text: string;
  snapshot: string | null;
  retrieved: string | null;
  licence: string | null;
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000), headers: { 'user-agent': 'openping-update-data' } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.text();
}

function savedCopy(dir: string, source: ListSource): Copy {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${source.name}.`) && !f.endsWith('.source.json'));
  if (files.length === 0) throw new Error(`no saved copy ${source.name}.* in ${dir}`);
  if (files.length > 1) throw new Error(`more than one saved copy of ${source.name} in ${dir}: ${files.join(', ')}`);
  const sidecar = join(dir, `${source.name}.source.json`);
  const about = existsSync(sidecar) ? (JSON.parse(readFileSync(sidecar, 'utf8')) as Partial<Copy>) : {};
  return {
    text: readFileSync(join(dir, files[0]!), 'utf8'),
    snapshot: about.snapshot ?? `saved copy ${files[0]}`,
    retrieved: about.retrieved ?? null,
    licence: about.licence ?? null,
  };
}

export function renderList(source: ListSource, cidrs: readonly string[], about: { snapshot: string | null; retrieved: string; licence: string | null; format: string }): string {
  const header = [
    `# name: ${source.name}`,
    `# title: ${source.title}`,
    `# source: ${source.url}`,
    ...(about.snapshot ? [`# snapshot: ${about.snapshot}`] : []),
    `# retrieved: ${about.retrieved}`,
    `# licence: ${about.licence ? `${source.licence}; this copy: ${about.licence}` : source.licence}`,
    `# format read: ${about.format}; ${cidrs.length} CIDRs, merged and sorted by scripts/update-data.ts`,
  ];
  return `${header.join('\n')}\n${cidrs.join('\n')}\n`;
}

/** Returns the names of the lists that failed (empty: all written). */
export async function updateData(options: Options): Promise<string[]> {
  const failed: string[] = [];
  const sources = LIST_SOURCES.filter((s) => options.only === null || options.only.includes(s.name));
  if (options.only) {
    for (const name of options.only) if (!LIST_SOURCES.some((s) => s.name === name)) throw new Error(`unknown list "${name}"; known: ${LIST_SOURCES.map((s) => s.name).join(', ')}`);
  }
  mkdirSync(options.out, { recursive: true });
  for (const source of sources) {
    try {
      const copy: Copy = options.from
        ? savedCopy(options.from, source)
        : { text: await options.fetchText(source.url), snapshot: null, retrieved: options.today, licence: null };
      const read = readPublishedList(copy.text, source.name);
      const cidrs = normaliseCidrs(read.cidrs);
      const retrieved = copy.retrieved ?? read.dated ?? options.today;
      const file = join(options.out, `${source.name}.txt`);
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, renderList(source, cidrs, { snapshot: copy.snapshot, retrieved, licence: copy.licence, format: read.format }));
      renameSync(temp, file);
      options.log(`${source.name}: ${read.cidrs.length} ranges read (${read.format}), ${cidrs.length} after merging → ${file}`);
    } catch (error) {
      failed.push(source.name);
      options.log(`${source.name}: NOT updated — ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failed;
}

function argValue(argv: readonly string[], flag: string): string | null {
  const i = argv.indexOf(flag);
  if (i < 0) return null;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
  return value;
}

async function main(argv: readonly string[]): Promise<number> {
  const known = new Set(['--from', '--out', '--only']);
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.has(argv[i]!)) {
      console.error(`Unknown argument ${argv[i]}. Usage: npm run update-data [-- --from <dir>] [--out <dir>] [--only a,b]`);
      return 2;
    }
  }
  try {
    const from = argValue(argv, '--from');
    const only = argValue(argv, '--only');
    const failed = await updateData({
      from: from === null ? null : resolve(from),
      out: resolve(argValue(argv, '--out') ?? DEFAULT_OUT),
      only: only === null ? null : only.split(',').map((s) => s.trim()).filter(Boolean),
      today: new Date().toISOString().slice(0, 10),
      fetchText,
      log: (line) => console.log(line),
    });
    if (failed.length > 0) {
      console.error(`Not updated: ${failed.join(', ')} (their old files are unchanged).`);
      return 1;
    }
    console.log('Done. Run `npm run reclassify` to re-label stored hits with the new lists.');
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}

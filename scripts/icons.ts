/**
 * `npm run icons`: renders every icon the extension ships from the one source, assets/icon.svg,
 * into public/icon/ (WXT's public folder is copied into the build as it is). The PNGs are
 * committed; tests/unit/icons.test.ts fails when they no longer match the SVG.
 *
 * resvg (@resvg/resvg-js) rather than a browser or ImageMagick: it is an npm package with a
 * prebuilt binary per platform, needs nothing installed, and renders the same bytes every run.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ICON_SOURCE = join(root, 'assets/icon.svg');

/**
 * Toolbar and store sizes (developer.chrome.com/docs/extensions/reference/manifest/icons: 16, 32,
 * 48, 128), and the notification icon: Chrome shows it at 80 dp, so 160 px stays sharp on a 2×
 * screen (chrome.notifications, NotificationOptions.iconUrl).
 */
export const ICONS: readonly { file: string; size: number }[] = [
  { file: 'icon/16.png', size: 16 },
  { file: 'icon/32.png', size: 32 },
  { file: 'icon/48.png', size: 48 },
  { file: 'icon/128.png', size: 128 },
  { file: 'icon/notification.png', size: 160 },
];

export function renderIcon(size: number, svg: Buffer = readFileSync(ICON_SOURCE)): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const svg = readFileSync(ICON_SOURCE);
  for (const { file, size } of ICONS) {
    const out = join(root, 'public', file);
    mkdirSync(dirname(out), { recursive: true });
    const png = renderIcon(size, svg);
    writeFileSync(out, png);
    console.log(`public/${file}  ${size}×${size}  ${png.length} bytes`);
  }
}

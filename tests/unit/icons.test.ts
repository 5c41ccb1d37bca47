/**
 * The icons are rendered from assets/icon.svg by `npm run icons` and committed under public/icon/:
 * each must exist at its size and be exactly what the script renders from the SVG today, so an
 * edited SVG without re-rendered PNGs fails here (issue 17).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ICONS, renderIcon } from '../../scripts/icons';

/** Width and height from a PNG's IHDR chunk (PNG spec §11.2.2: bytes 16–23, big-endian). */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('icons', () => {
  it('has the toolbar sizes and the notification icon', () => {
    expect(ICONS.map((i) => i.size).sort((a, b) => a - b)).toEqual(expect.arrayContaining([16, 32, 48, 128]));
    expect(ICONS.some((i) => i.file.includes('notification'))).toBe(true);
  });

  it.each(ICONS.map((i) => [i.file, i] as const))('public/%s exists, has its size and matches assets/icon.svg', (file, icon) => {
    const path = `public/${file}`;
    expect(existsSync(path), `${path} is missing: run \`npm run icons\``).toBe(true);
    const committed = readFileSync(path);
    expect(pngSize(committed)).toEqual({ width: icon.size, height: icon.size });
    expect(committed.equals(renderIcon(icon.size)), `${path} differs from assets/icon.svg: run \`npm run icons\` and commit`).toBe(true);
  });
});

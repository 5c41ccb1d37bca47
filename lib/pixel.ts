/**
 * The tracking pixel as it sits in a compose body (SPEC §6) and how to
 * recognise one of the account's own pixels in a page, directly or behind a
 * webmail's image proxy.
 */

/** `<pixelBase><tracker>.gif`; pixelBase is `<public url>/p/<account>/` (SPEC §3). */
export function pixelUrl(pixelBase: string, tracker: string): string {
  return `${pixelBase}${tracker}.gif`;
}

/**
 * Invisible without `display:none` (some clients skip fetching hidden images),
 * and with an empty alt so a blocked image shows nothing either.
 */
const INVISIBLE = 'width:1px;height:1px;border:0;margin:0;padding:0;opacity:0';

export function createPixel(doc: Document, pixelBase: string, tracker: string): HTMLImageElement {
  const img = doc.createElement('img');
  img.src = pixelUrl(pixelBase, tracker);
  img.width = 1;
  img.height = 1;
  img.alt = '';
  img.setAttribute('style', INVISIBLE);
  return img;
}

/**
 * The tracker id when `src` is one of this account's pixels, else null.
 * Gmail shows remote images through its proxy with the original URL after `#`:
 * `https://ci3.googleusercontent.com/meips/<token>=s0-d-e1-ft#<original>` (RESEARCH §1).
 */
export function trackerFromSrc(src: string, pixelBase: string): string | null {
  const hash = src.indexOf('#');
  const candidates = hash >= 0 ? [src.slice(hash + 1), src] : [src];
  for (const url of candidates) {
    if (!url.startsWith(pixelBase)) continue;
    const match = /^([A-Za-z0-9_-]{16,43})\.gif$/.exec(url.slice(pixelBase.length));
    if (match) return match[1]!;
  }
  return null;
}

/** The account's own pixels in `root`, in document order. */
export function ownPixels(root: ParentNode, pixelBase: string): HTMLImageElement[] {
  return [...root.querySelectorAll('img')].filter((img) => trackerFromSrc(img.getAttribute('src') ?? '', pixelBase));
}

/**
 * True when nothing the reader can see follows `img` in `body`: only
 * whitespace, `<br>` and empty blocks, which editors leave at the end.
 */
export function isAtEnd(body: HTMLElement, img: HTMLImageElement): boolean {
  if (!body.contains(img)) return false;
  for (let node: Node | null = img; node && node !== body; node = node.parentNode) {
    for (let next = node.nextSibling; next; next = next.nextSibling) {
      if (!isBlank(next)) return false;
    }
  }
  return true;
}

function isBlank(node: Node): boolean {
  if (node.nodeType === 3) return !/\S/.test(node.textContent ?? '');
  if (node.nodeType !== 1) return true;
  const el = node as Element;
  if (el.tagName === 'BR') return true;
  if (el.querySelector('img, video, iframe, table, hr')) return false;
  return !/\S/.test(el.textContent ?? '') && [...el.childNodes].every(isBlank);
}

// @vitest-environment happy-dom
/** The pixel as it sits in a body, and recognising the account's own pixels directly or behind Gmail's proxy. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../lib/ids';
import { createPixel, isAtEnd, ownPixels, pixelUrl, trackerFromSrc } from '../../lib/pixel';

const BASE = 'https://track.example/p/acct0123456789abcdef/';
const id = fc.stringMatching(/^[A-Za-z0-9_-]{16,43}$/);

describe('pixel', () => {
  it('is a 1×1 image with an empty alt, invisible without display:none', () => {
    const tracker = randomId();
    const img = createPixel(document, BASE, tracker);
    expect(img.getAttribute('src')).toBe(`${BASE}${tracker}.gif`);
    expect(img.getAttribute('width')).toBe('1');
    expect(img.getAttribute('height')).toBe('1');
    expect(img.getAttribute('alt')).toBe('');
    expect(img.getAttribute('style')).toMatch(/opacity:0/);
    expect(img.getAttribute('style')).not.toMatch(/display:\s*none/);
  });

  it('finds the tracker in its own URL and behind the proxy, never in another account’s', () => {
    fc.assert(
      fc.property(id, fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), (tracker, token) => {
        const url = pixelUrl(BASE, tracker);
        expect(trackerFromSrc(url, BASE)).toBe(tracker);
        expect(trackerFromSrc(`https://ci3.googleusercontent.com/meips/${token}=s0-d-e1-ft#${url}`, BASE)).toBe(tracker);
        expect(trackerFromSrc(pixelUrl('https://track.example/p/someoneElse0123456/', tracker), BASE)).toBeNull();
        expect(trackerFromSrc(`${url}x`, BASE)).toBeNull();
      }),
    );
    expect(trackerFromSrc(`${BASE}short.gif`, BASE)).toBeNull();
    expect(trackerFromSrc(`${BASE}../${'a'.repeat(22)}.gif`, BASE)).toBeNull();
  });

  it('lists only this account’s pixels in a body', () => {
    const body = document.createElement('div');
    body.innerHTML = `<img src="${BASE}${'a'.repeat(22)}.gif"><img src="https://cdn.example/logo.png"><p><img src="https://ci3.googleusercontent.com/meips/x=s0-d-e1-ft#${BASE}${'b'.repeat(22)}.gif"></p>`;
    expect(ownPixels(body, BASE)).toHaveLength(2);
  });

  it('is at the end when only blank lines, <br> and empty blocks follow it', () => {
    const body = document.createElement('div');
    const at = (html: string) => {
      body.innerHTML = html;
      return isAtEnd(body, body.querySelector('img[alt=""]') as HTMLImageElement);
    };
    expect(at('<div>Hi</div><img alt="">')).toBe(true);
    expect(at('<div>Hi</div><img alt="">\n <br><div><br></div>')).toBe(true);
    expect(at('<div>Hi<img alt=""></div><div> </div>')).toBe(true);
    expect(at('<img alt=""><div>Hi</div>')).toBe(false);
    expect(at('<div><img alt="">after</div>')).toBe(false);
    expect(at('<img alt=""><div><img src="https://cdn.example/x.png"></div>')).toBe(false);
    const detached = document.createElement('img');
    expect(isAtEnd(body, detached)).toBe(false);
  });
});

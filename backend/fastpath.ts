/**
 * The pixel's raw-socket fast path (issue 3): the public listener is a
 * net.Server that reads each connection itself and answers well-formed
 * `GET|HEAD /p/….gif` requests with prebuilt bytes; every other request —
 * the API, and anything at all unusual — goes to node:http, which then owns
 * the connection for good (its header limit, timeouts, keep-alive, errors).
 *
 * Why: node:http's per-request machinery (IncomingMessage, ServerResponse,
 * events, header objects) cost ~11 µs per pixel request here; a server that
 * parses the head itself and writes one prebuilt buffer does ~125k req/s where
 * node:http does ~91k (issue 3's profile, 2026-11).
 *
 * What it accepts is a strict subset of what llhttp accepts, read the same
 * way (the differential test in tests/server/fastpath.test.ts checks this
 * against node:http itself): request line exactly `GET|HEAD SP target SP
 * HTTP/1.1 CRLF`, the target visible ASCII starting `/p/` (or absolute-form
 * `http(s)://host[:port]/p/…`), header lines `token: value CRLF` with values of
 * visible ASCII, space and tab, a single non-empty Host, Connection only
 * `keep-alive` or `close` and Content-Length only `0`, with no tab after them
 * (llhttp versions read that differently), no Transfer-Encoding,
 * Expect, Upgrade or Proxy-Connection, no repeat of any header read here, at
 * most 100 header lines, the whole head within maxHeaderBytes. When in doubt
 * it hands over.
 *
 * The answer is byte for byte what node:http sends for the pixel (sendPixel in
 * http.ts): status line, PIXEL_HEADERS in order, Date, then
 * `Connection: keep-alive` + `Keep-Alive: timeout=N` or `Connection: close`.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { GIF, handlePixel, PIXEL_HEADERS, type PixelDeps, type PixelHeaderName, type PixelRequest } from './pixel.ts';

export interface FastPathOptions {
  /** Takes over every connection the fast path does not serve to the end; never listens itself. */
  http: HttpServer;
  deps: PixelDeps;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Answers a request that broke off or came too slowly as node:http's clientError listener does, and closes. */
  answerError(socket: Socket, code: 'ERR_HTTP_REQUEST_TIMEOUT' | 'HPE_INVALID_EOF_STATE'): void;
  /** Counts a connection handed to node:http. */
  onHandOver?(): void;
  /** A request carried X-Forwarded-For or Forwarded (health.ts ForwardingWatch: is its peer a trusted proxy?). */
  onForwarded?(peer: string | undefined): void;
}

/** scanHead results besides the offset just past a complete head. */
export const INCOMPLETE = 0;
export const HAND_OVER = -1;

const HT = 9;
const LF = 10;
const CR = 13;
const SP = 32;
const COLON = 58;
const SLASH = 47;
/** More header lines than this go to node:http (which ignores lines past its maxHeadersCount). */
const MAX_HEADER_LINES = 100;
/** Requests of one connection in flight at once; beyond it the socket is paused, as node:http pauses a pipelining client. */
const MAX_IN_FLIGHT = 32;
/** node:http's HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER: an idle socket lives this much longer than the advertised timeout. */
const KEEP_ALIVE_GRACE_MS = 1000;

/** RFC 9110 §5.6.2 tchar: what llhttp accepts in a header name. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;

/** True when buf[at…] holds `lower` (a lower-case name), ASCII case-insensitively; only for token bytes. */
function nameIs(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** 1: buf[at…end) starts with `text`; 0: what there is matches so far; -1: it does not. */
function prefix(buf: Buffer, at: number, end: number, text: string): number {
  const n = Math.min(text.length, end - at);
  for (let i = 0; i < n; i++) if (buf[at + i] !== text.charCodeAt(i)) return -1;
  return n === text.length ? 1 : 0;
}

/** Whether buf[from…end) — bytes of a head whose end has not come yet — can still be a head scanHead accepts. */
function plausible(buf: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const b = buf[i]!;
    if ((b >= SP && b <= 0x7e) || b === HT) continue;
    if (b === CR && (i + 1 === end || buf[i + 1] === LF)) continue;
    if (b === LF && i > 0 && buf[i - 1] === CR) continue;
    return false;
  }
  return true;
}

/** Whether the start of a request line can still be `GET|HEAD /p/` or `GET|HEAD http(s)://`. */
function startsLikePixel(buf: Buffer, start: number, end: number): boolean {
  let at: number;
  const get = prefix(buf, start, end, 'GET ');
  if (get === 1) at = start + 4;
  else {
    const head = prefix(buf, start, end, 'HEAD ');
    if (head === 1) at = start + 5;
    else return get === 0 || head === 0;
  }
  return prefix(buf, at, end, '/p/') >= 0 || prefix(buf, at, end, 'http://') >= 0 || prefix(buf, at, end, 'https://') >= 0;
}

/** The request line between start and the CR at cr; false: not one for the fast path. */
function requestLine(buf: Buffer, start: number, cr: number, out: FastRequest): boolean {
  let at: number;
  if (prefix(buf, start, cr, 'GET ') === 1) {
    out.method = 'GET';
    at = start + 4;
  } else if (prefix(buf, start, cr, 'HEAD ') === 1) {
    out.method = 'HEAD';
    at = start + 5;
  } else return false;
  const version = cr - 9;
  if (version <= at || prefix(buf, version, cr, ' HTTP/1.1') !== 1) return false;
  for (let i = at; i < version; i++) {
    const b = buf[i]!;
    if (b < 0x21 || b > 0x7e) return false;
  }
  let path = at;
  if (buf[at] !== SLASH) {
    // Absolute-form (RFC 9112 §3.2.2), served as its path like http.ts's originForm; only a plain host[:port] here.
    if (prefix(buf, at, version, 'http://') === 1) path = at + 7;
    else if (prefix(buf, at, version, 'https://') === 1) path = at + 8;
    else return false;
    const host = path;
    while (path < version && isHostByte(buf[path]!)) path++;
    if (path === host) return false;
    if (buf[path] === COLON) {
      const port = ++path;
      while (path < version && buf[path]! >= 0x30 && buf[path]! <= 0x39) path++;
      if (path === port) return false;
    }
  }
  if (prefix(buf, path, version, '/p/') !== 1) return false;
  out.url = buf.toString('latin1', path, version);
  return true;
}

function isHostByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e;
}

/** Whether buf[from…to) holds a tab. */
function hasTab(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === HT) return true;
  return false;
}

/** Records one header line in out (its CR at cr); false: the request is not one for the fast path. */
function takeHeader(buf: Buffer, name: number, nameEnd: number, value: number, valueEnd: number, cr: number, out: FastRequest): boolean {
  switch (nameEnd - name) {
    case 3:
      if (nameIs(buf, name, 'via')) {
        if (out.via !== undefined) return false;
        out.via = buf.toString('latin1', value, valueEnd);
      }
      return true;
    case 4:
      if (nameIs(buf, name, 'host')) {
        if (out.hasHost || valueEnd === value) return false;
        out.hasHost = true;
      } else if (nameIs(buf, name, 'from')) {
        if (out.from !== undefined) return false;
        out.from = buf.toString('latin1', value, valueEnd);
      }
      return true;
    case 6:
      if (nameIs(buf, name, 'accept')) {
        if (out.accept !== undefined) return false;
        out.accept = buf.toString('latin1', value, valueEnd);
      }
      return !nameIs(buf, name, 'expect');
    case 7:
      if (nameIs(buf, name, 'referer')) {
        if (out.referer !== undefined) return false;
        out.referer = buf.toString('latin1', value, valueEnd);
      }
      return !nameIs(buf, name, 'upgrade');
    case 9:
      if (nameIs(buf, name, 'forwarded')) {
        if (out.forwarded !== undefined) return false;
        out.forwarded = buf.toString('latin1', value, valueEnd);
      }
      return true;
    case 10:
      if (nameIs(buf, name, 'user-agent')) {
        if (out.userAgent !== undefined) return false;
        out.userAgent = buf.toString('latin1', value, valueEnd);
      } else if (nameIs(buf, name, 'connection')) {
        // llhttp versions differ on a tab after the value: Node 20's keeps `close<TAB>` alive, Node 24's
        // closes (issue 13). node:http decides such heads.
        if (out.sawConnection || hasTab(buf, valueEnd, cr)) return false;
        out.sawConnection = true;
        if (valueEnd - value === 5 && nameIs(buf, value, 'close')) out.close = true;
        else if (!(valueEnd - value === 10 && nameIs(buf, value, 'keep-alive'))) return false;
      }
      return true;
    case 14:
      if (nameIs(buf, name, 'content-length')) {
        // Node 20's llhttp answers `Content-Length: 0<TAB>` with 400, Node 24's reads 0 (issue 13).
        if (out.sawLength || valueEnd - value !== 1 || buf[value] !== 0x30 || hasTab(buf, valueEnd, cr)) return false;
        out.sawLength = true;
      }
      return true;
    case 15:
      if (nameIs(buf, name, 'accept-language')) {
        if (out.acceptLanguage !== undefined) return false;
        out.acceptLanguage = buf.toString('latin1', value, valueEnd);
      } else if (nameIs(buf, name, 'accept-encoding')) {
        if (out.acceptEncoding !== undefined) return false;
        out.acceptEncoding = buf.toString('latin1', value, valueEnd);
      } else if (nameIs(buf, name, 'x-forwarded-for')) {
        if (out.forwardedFor !== undefined) return false;
        out.forwardedFor = buf.toString('latin1', value, valueEnd);
      }
      return true;
    case 16:
      // llhttp reads Proxy-Connection as Connection (its SPECIAL_HEADERS): `Proxy-Connection: close` closes.
      return !nameIs(buf, name, 'proxy-connection');
    case 17:
      return !nameIs(buf, name, 'transfer-encoding');
    default:
      return true;
  }
}

/**
 * Reads the request head that starts at buf[start], filling `out`. Returns the
 * offset just past its blank line, INCOMPLETE when what there is may still
 * become a head the fast path serves, or HAND_OVER when it cannot.
 */
export function scanHead(buf: Buffer, start: number, maxHeaderBytes: number, out: FastRequest): number {
  out.reset();
  const end = buf.length;
  let line = start;
  for (let lines = 0; ; lines++) {
    const lf = buf.indexOf(LF, line);
    if (lf < 0) {
      if (end - start > maxHeaderBytes || !plausible(buf, line, end)) return HAND_OVER;
      return line > start || startsLikePixel(buf, start, end) ? INCOMPLETE : HAND_OVER;
    }
    const cr = lf - 1;
    if (lf + 1 - start > maxHeaderBytes || cr < line || buf[cr] !== CR) return HAND_OVER;
    if (line === start) {
      if (!requestLine(buf, start, cr, out)) return HAND_OVER;
    } else if (cr === line) {
      return out.hasHost ? lf + 1 : HAND_OVER;
    } else {
      if (lines > MAX_HEADER_LINES) return HAND_OVER;
      let i = line;
      while (i < cr && TOKEN[buf[i]!] === 1) i++;
      if (i === line || buf[i] !== COLON) return HAND_OVER;
      const nameEnd = i++;
      while (i < cr && (buf[i] === SP || buf[i] === HT)) i++;
      const value = i;
      let valueEnd = i;
      for (; i < cr; i++) {
        const b = buf[i]!;
        if (b === SP || b === HT) continue;
        if (b < 0x21 || b > 0x7e) return HAND_OVER;
        valueEnd = i + 1;
      }
      if (!takeHeader(buf, line, nameEnd, value, valueEnd, cr, out)) return HAND_OVER;
    }
    line = lf + 1;
  }
}

/** One pixel request read by the fast path; also its place in its connection's answer queue. */
export class FastRequest implements PixelRequest {
  method: 'GET' | 'HEAD' = 'GET';
  url = '';
  userAgent: string | undefined;
  accept: string | undefined;
  acceptLanguage: string | undefined;
  acceptEncoding: string | undefined;
  referer: string | undefined;
  via: string | undefined;
  from: string | undefined;
  forwarded: string | undefined;
  forwardedFor: string | undefined;
  hasHost = false;
  sawConnection = false;
  sawLength = false;
  /** `Connection: close`: answer, then end the connection. */
  close = false;
  answered = false;

  constructor(private conn: Connection | null) {}

  get peer(): string | undefined {
    return this.conn?.peer;
  }

  reset(): void {
    this.method = 'GET';
    this.url = '';
    this.userAgent = this.accept = this.acceptLanguage = this.acceptEncoding = undefined;
    this.referer = this.via = this.from = this.forwarded = this.forwardedFor = undefined;
    this.hasHost = this.sawConnection = this.sawLength = this.close = false;
  }

  header(name: PixelHeaderName): string | undefined {
    switch (name) {
      case 'user-agent':
        return this.userAgent;
      case 'accept':
        return this.accept;
      case 'accept-language':
        return this.acceptLanguage;
      case 'accept-encoding':
        return this.acceptEncoding;
      case 'referer':
        return this.referer;
      case 'via':
        return this.via;
      case 'from':
        return this.from;
      case 'forwarded':
        return this.forwarded;
      case 'x-forwarded-for':
        return this.forwardedFor;
    }
  }

  respond(): void {
    if (this.answered) return;
    this.answered = true;
    this.conn?.answered(this);
  }
}

/**
 * The pixel's answers, prebuilt: [GET, HEAD] × [keep-alive, close]. The Date
 * line is renewed at most once a second, as node:http's own cache does
 * (lib/internal/http.js utcDate).
 */
class PixelAnswers {
  private variants: Buffer[] | null = null;
  private readonly expire = () => {
    this.variants = null;
  };

  constructor(private keepAliveTimeoutMs: number) {}

  bytes(head: boolean, close: boolean): Buffer {
    const variants = this.variants ?? this.build();
    return variants[(head ? 1 : 0) + (close ? 2 : 0)]!;
  }

  private build(): Buffer[] {
    const now = new Date();
    let fixed = 'HTTP/1.1 200 OK\r\n';
    for (const [name, value] of Object.entries(PIXEL_HEADERS)) fixed += `${name}: ${value}\r\n`;
    fixed += `Date: ${now.toUTCString()}\r\n`;
    // As _http_outgoing.js writes them: Keep-Alive only with a keep-alive timeout, in whole seconds.
    const keepAlive = Buffer.from(
      `${fixed}Connection: keep-alive\r\n${this.keepAliveTimeoutMs ? `Keep-Alive: timeout=${Math.floor(this.keepAliveTimeoutMs / 1000)}\r\n` : ''}\r\n`,
      'latin1',
    );
    const close = Buffer.from(`${fixed}Connection: close\r\n\r\n`, 'latin1');
    this.variants = [Buffer.concat([keepAlive, GIF]), keepAlive, Buffer.concat([close, GIF]), close];
    setTimeout(this.expire, 1000 - now.getMilliseconds()).unref();
    return this.variants;
  }
}

/** One client connection while the fast path owns it. */
class Connection {
  readonly peer: string | undefined;
  /** Bytes read and not yet consumed, from the start of the next request. */
  private buf: Buffer | null = null;
  /** The request whose head is being read (set while buf holds part of a head). */
  private next: FastRequest | null = null;
  /** Requests read and not yet answered, in order: answers leave in this order whatever order their commits finish in. */
  private queue: FastRequest[] = [];
  private headTimer: NodeJS.Timeout | null = null;
  private keepAliveArmed = false;
  private paused = false;
  private processing = false;
  /** A request node:http must see waits for the answers before it. */
  private handOverPending = false;
  private timedOut = false;
  /** The client ended its side. */
  private ended = false;
  /** The fast path is done with this connection (closing, closed or handed over). */
  private done = false;

  constructor(
    readonly socket: Socket,
    private fp: FastPath,
  ) {
    this.peer = socket.remoteAddress;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // node:http answers 408 to a connection that sends no complete head within headersTimeout, the first one included.
    this.armHeadTimer();
  }

  /** Between requests with nothing in flight: what node:http's closeIdleConnections would close. */
  get idle(): boolean {
    return this.buf === null && this.queue.length === 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    if (this.buf === null) this.buf = chunk;
    else {
      const had = this.buf.length;
      this.buf = Buffer.concat([this.buf, chunk]);
      // A head arriving in pieces: without a new line end, only the new bytes need a look (a client
      // trickling a head byte by byte must not cost a rescan per byte).
      if (this.next !== null && !this.blocked() && chunk.indexOf(LF) < 0) {
        const { buf } = this;
        if (buf.length > this.fp.maxHeaderBytes || !plausible(buf, had - 1, buf.length) || !startsLikePixel(buf, 0, buf.length)) this.handOver();
        return;
      }
    }
    this.process();
  };

  private blocked(): boolean {
    return this.done || this.handOverPending || this.timedOut || this.queue.length >= MAX_IN_FLIGHT || this.socket.writableNeedDrain;
  }

  /** Reads the requests in buf until it runs out, a head is incomplete, or one must go to node:http. */
  private process(): void {
    // respond() may run inside handlePixel's call (a malformed path answers at once) and lead back here.
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.buf !== null && !this.blocked()) {
        const buf = this.buf;
        const req = (this.next ??= new FastRequest(this));
        const end = scanHead(buf, 0, this.fp.maxHeaderBytes, req);
        if (end === INCOMPLETE) {
          this.armHeadTimer();
          break;
        }
        if (end === HAND_OVER) {
          this.handOver();
          break;
        }
        this.next = null;
        this.clearHeadTimer();
        // After `Connection: close` nothing more is read: node:http, too, ends the connection after that answer.
        this.buf = end < buf.length && !req.close ? buf.subarray(end) : null;
        this.queue.push(req);
        // scanHead has read both headers already: two comparisons, and the watch returns at once once it has seen.
        if (req.forwardedFor !== undefined || req.forwarded !== undefined) this.fp.onForwarded?.(this.peer);
        void handlePixel(this.fp.deps, req);
      }
    } finally {
      this.processing = false;
    }
    if (!this.done && !this.paused && this.blocked()) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Called by a request's respond(): writes every answer now due, in request order. */
  answered(req: FastRequest): void {
    const { queue, socket } = this;
    if (queue[0] !== req || socket.destroyed) return;
    const several = queue.length > 1 && queue[1]!.answered;
    if (several) socket.cork();
    while (queue.length > 0 && queue[0]!.answered) {
      const r = queue.shift()!;
      // On shutdown the last answer closes the connection instead of leaving it idle.
      const close = r.close || (this.fp.closing && queue.length === 0 && this.buf === null);
      socket.write(this.fp.answers.bytes(r.method === 'HEAD', close));
      if (close) {
        this.finish();
        break;
      }
    }
    if (several) socket.uncork();
    if (queue.length === 0 && !this.done) this.settled();
  }

  /** Nothing in flight any more: do what waited for that. */
  private settled(): void {
    if (this.handOverPending) {
      this.handOver();
      return;
    }
    if (this.timedOut) {
      this.fail('ERR_HTTP_REQUEST_TIMEOUT');
      return;
    }
    if (this.paused) this.unpause();
    if (this.done || this.queue.length > 0) return;
    if (this.ended) {
      // The client ended its side: node:http answers an unfinished head with 400, else closes.
      if (this.buf !== null) this.fail('HPE_INVALID_EOF_STATE');
      else this.finish();
    } else if (!this.keepAliveArmed && this.fp.keepAliveTimeoutMs > 0) {
      this.keepAliveArmed = true;
      // net.Socket's own timer, refreshed by every read and write; onTimeout ignores it while busy.
      this.socket.setTimeout(this.fp.keepAliveTimeoutMs + KEEP_ALIVE_GRACE_MS);
    }
  }

  /** Reads on once what paused the socket is gone. */
  private unpause(): void {
    if (this.done || this.blocked()) return;
    this.process();
    if (this.paused && !this.done && !this.blocked()) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private readonly onDrain = (): void => {
    if (this.paused) this.unpause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.done && this.queue.length === 0) this.settled();
  };

  private readonly onTimeout = (): void => {
    // Idle past the keep-alive timeout, as node:http's socketOnTimeout: drop without an answer.
    if (!this.done && this.idle) this.socket.destroy();
  };

  private readonly onHeadTimeout = (): void => {
    this.headTimer = null;
    if (this.done) return;
    this.timedOut = true;
    if (this.queue.length === 0) this.settled();
  };

  private readonly onError = (): void => {
    // ECONNRESET and friends: net destroys the socket; 'close' cleans up. Never an uncaught error.
  };

  private readonly onClose = (): void => {
    this.release();
    this.queue.length = 0;
  };

  private armHeadTimer(): void {
    if (this.headTimer === null) this.headTimer = setTimeout(this.onHeadTimeout, this.fp.headersTimeoutMs).unref();
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
  }

  /** The fast path lets go of the connection (its listeners stay off from now on). */
  private release(): void {
    if (this.done) return;
    this.done = true;
    this.buf = null;
    this.next = null;
    this.clearHeadTimer();
    this.fp.connections.delete(this);
  }

  /** Ends the connection once what was written has gone out. */
  private finish(): void {
    this.release();
    this.socket.destroySoon();
  }

  private fail(code: 'ERR_HTTP_REQUEST_TIMEOUT' | 'HPE_INVALID_EOF_STATE'): void {
    this.release();
    this.fp.answerError(this.socket, code);
  }

  /**
   * Gives the connection to node:http from the start of the unconsumed bytes.
   *
   * node:http's connection listener (lib/_http_server.js, connectionListenerInternal)
   * calls parser.consume(socket._handle): from then on its C++ parser reads the
   * handle itself, and nothing read later passes through the socket's readable
   * buffer — where socket.unshift() put our bytes, ahead of anything read while
   * the socket was paused. Left there, they would reach node:http's 'data'
   * listener only when the stream's own scheduling next flushes the buffer (a
   * nextTick, in Node 20 before the next read of the handle, but that rests on
   * stream internals; with the stream flowing and nothing scheduled they would
   * sit there while newer bytes went to the parser). So the buffer is flushed
   * into node:http's listener here, synchronously: the handle cannot deliver
   * anything in between, and the order is certain.
   */
  private handOver(): void {
    if (this.queue.length > 0) {
      this.handOverPending = true;
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    const { socket } = this;
    const rest = this.buf;
    this.release();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('drain', this.onDrain);
    socket.off('timeout', this.onTimeout);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    // node:http sets its own timeouts; ours would destroy a held long-poll.
    socket.setTimeout(0);
    this.fp.onHandOver?.();
    if (socket.readableEnded) {
      // The client ended its side while this request waited for the answers before it (net emits
      // 'end' on a paused socket, too, once the stream's own buffer is empty). An ended stream takes
      // no unshift (ERR_STREAM_UNSHIFT_AFTER_END_EVENT), so node:http's listener gets the bytes directly.
      this.fp.http.emit('connection', socket);
      if (rest !== null) socket.emit('data', rest);
      // node:http learns of the end from the socket's 'end' event (lib/_http_server.js socketOnEnd: parser.finish()
      // answers a head cut short with 400 at once, and the last answer closes); that event has been and gone,
      // so it is given again. Without it node:http waited for the rest of the head until headersTimeout (408).
      socket.emit('end');
      return;
    }
    if (rest !== null) socket.unshift(rest);
    socket.resume();
    this.fp.http.emit('connection', socket);
    while (socket.readableFlowing === true && !socket.destroyed && socket.readableLength > 0 && socket.read() !== null);
  }
}

export class FastPath {
  readonly server: NetServer;
  readonly answers: PixelAnswers;
  readonly connections = new Set<Connection>();
  readonly http: HttpServer;
  readonly deps: PixelDeps;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly answerError: FastPathOptions['answerError'];
  readonly onHandOver: FastPathOptions['onHandOver'];
  readonly onForwarded: FastPathOptions['onForwarded'];
  closing = false;

  constructor(options: FastPathOptions) {
    this.http = options.http;
    this.deps = options.deps;
    this.maxHeaderBytes = options.maxHeaderBytes;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs;
    this.answerError = options.answerError;
    this.onHandOver = options.onHandOver;
    this.onForwarded = options.onForwarded;
    this.answers = new PixelAnswers(this.keepAliveTimeoutMs);
    // allowHalfOpen as node:http: a client that ends its side still gets the answers in flight.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.connections.add(new Connection(socket, this));
    });
    // node:http starts its connection tracking — the headers/request timeouts and closeIdleConnections() —
    // on its own 'listening' event (lib/_http_server.js: this.on('listening', setupConnectionsTracking));
    // it never listens here, so that is where the tracking is started for the connections it is handed.
    this.http.emit('listening');
  }

  /** Shutdown: idle connections close now, busy ones after their last answer (sent with `Connection: close`). */
  shutdown(): void {
    this.closing = true;
    for (const conn of this.connections) if (conn.idle) conn.socket.destroy();
  }
}

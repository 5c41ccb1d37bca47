/**
 * The pieces of a deployment test (tests/e2e/deploy-*.test.ts): the files in deploy/ rendered for
 * this run, real Caddy and real nginx from Debian's packages run in temp folders, TLS clients that
 * connect from a chosen source address, and Chromium with an extension built for the https URL.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomInt, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Worker } from 'playwright-core';
import { chromiumArgs, findChromium } from './chromium';

/** The host name of deploy/*: public-looking, so /healthz judges it as it would a real one. */
export const DEPLOY_HOST = 'track.example.com';

/** A program a deployment test needs; missing, the test fails with one sentence saying what to install. */
export function requireProgram(path: string, debianPackage: string): string {
  if (existsSync(path)) return path;
  throw new Error(`${path} is missing: the deployment tests run Debian's ${debianPackage}; install it with \`apt-get install -y ${debianPackage}\` (.ci/run does).`);
}

/** A port the kernel hands out as free on 127.0.0.1 and [::]. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((done, fail) => {
      const probe = createServer();
      probe.once('error', fail);
      probe.listen(0, '127.0.0.1', () => {
        const { port: bound } = probe.address() as { port: number };
        probe.close(() => done(bound));
      });
    });
    // nginx listens on [::] as well (deploy/nginx/openping.conf).
    const v6Free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT'));
      probe.listen(port, '::', () => probe.close(() => done(true)));
    });
    if (v6Free) return port;
  }
  throw new Error('Found no free port for the reverse proxy in 20 tries.');
}

/** `text` with each `[from, to]` replaced, each `from` required to occur exactly `count` times (1 unless given). */
export function render(file: string, replacements: Array<[string, string, number?]>): string {
  let text = readFileSync(file, 'utf8');
  for (const [from, to, count = 1] of replacements) {
    const found = text.split(from).length - 1;
    if (found !== count) throw new Error(`${file}: the deployment test replaces "${from}" ${count} time(s) but found it ${found} time(s); update the test with the file.`);
    text = text.replaceAll(from, to);
  }
  return text;
}

// ── client addresses ───────────────────────────────────────────────────────

export interface ClientAddresses {
  /** In Google's 66.249.64.0/19, where Gmail's image proxy fetches from (RESEARCH §1). */
  google: string;
  /** In TEST-NET-2 (RFC 5737): a client outside Google's network. */
  outside: string;
  remove(): Promise<void>;
}

/**
 * The reverse proxy must see a real TCP peer in Google's network, as it would on a VPS: a header the
 * test client writes is exactly what must NOT decide the address. So two addresses are put on the
 * loopback interface for the test (`ip addr add … dev lo`, which needs root or CAP_NET_ADMIN) and the
 * clients bind to them; the kernel routes replies back over lo. The host part is random, so runs at
 * the same time do not share (and remove) each other's address; an address that was already there is
 * left there.
 */
export async function addClientAddresses(): Promise<ClientAddresses> {
  requireProgram('/usr/sbin/ip', 'iproute2');
  const run = promisify(execFile);
  const added: string[] = [];
  const add = async (address: string) => {
    try {
      await run('/usr/sbin/ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
      added.push(address);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      if (/File exists/.test(stderr)) return;
      throw new Error(`Could not add ${address} to the loopback interface (${stderr.trim()}): the deployment tests need root or CAP_NET_ADMIN to give a test client an address the reverse proxy sees as Google's.`);
    }
  };
  const google = `66.249.93.${randomInt(2, 250)}`;
  const outside = `198.51.100.${randomInt(2, 250)}`;
  await add(google);
  await add(outside);
  return {
    google,
    outside,
    async remove() {
      for (const address of added.splice(0)) await run('/usr/sbin/ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']).catch(() => undefined);
    },
  };
}

// ── https through the proxy ────────────────────────────────────────────────

export interface Deployment {
  /** https://track.example.com:<port> */
  url: string;
  port: number;
  /** The certificate (PEM) a client trusts: Caddy's internal root, or nginx's self-signed one. */
  ca: string;
  output(): string;
  stop(): Promise<void>;
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request to the deployment, as a client at `from` (an address on this machine). */
export function httpsRequest(
  deployment: Deployment,
  path: string,
  options: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsResult> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: deployment.port,
        servername: DEPLOY_HOST,
        ca: deployment.ca,
        localAddress: options.from,
        path,
        method: options.method ?? 'GET',
        headers: { host: `${DEPLOY_HOST}:${deployment.port}`, ...options.headers },
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 30 s`)));
    req.on('error', fail);
    req.end(options.body);
  });
}

/** Waits until the deployment completes a TLS handshake that `ca` verifies for DEPLOY_HOST; resolves with the leaf certificate. */
async function waitForTls(port: number, ca: () => string | null, proxy: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<X509Certificate> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (;;) {
    if (proxy.exitCode !== null || proxy.signalCode !== null) throw new Error(`The reverse proxy exited (${proxy.signalCode ?? `code ${proxy.exitCode}`}) before serving TLS:\n${output()}`);
    const trusted = ca();
    if (trusted) {
      const leaf = await new Promise<X509Certificate | string>((done) => {
        const socket = connect({ host: '127.0.0.1', port, servername: DEPLOY_HOST, ca: trusted }, () => {
          const raw = socket.getPeerCertificate().raw;
          socket.end();
          done(new X509Certificate(raw));
        });
        socket.once('error', (e) => done(e.message));
      });
      if (typeof leaf !== 'string') return leaf;
      last = leaf;
    }
    if (Date.now() > deadline) throw new Error(`The reverse proxy did not serve a trusted certificate for ${DEPLOY_HOST} on port ${port} within ${timeoutMs} ms (${last}):\n${output()}`);
    // Caddy issues its certificate a moment after it starts; nothing to wait on but the port.
    await new Promise((r) => setTimeout(r, 100));
  }
}

function spawnLogged(program: string, args: string[], env: Record<string, string>): { child: ChildProcess; output(): string } {
  const child = spawn(program, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { child, output: () => log };
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * deploy/Caddyfile with real Caddy. Changed for the run: the site address gets the test's port and
 * the upstream the server's port. Put before it, a global options block that only a test needs:
 * certificates from Caddy's internal CA (`local_certs`; no Let's Encrypt without the internet),
 * not installed into the system's trust store, no admin endpoint (it would take port 2019 for
 * every run), the http port a free one (caddyserver.com/docs/caddyfile/options).
 */
export async function startCaddy(upstreamPort: number, port: number): Promise<Deployment> {
  const caddy = requireProgram('/usr/bin/caddy', 'caddy');
  const dir = mkdtempSync(join(tmpdir(), 'openping-caddy-'));
  const httpPort = await freePort();
  const site = render('deploy/Caddyfile', [
    [`${DEPLOY_HOST} {`, `${DEPLOY_HOST}:${port} {`],
    ['127.0.0.1:8787', `127.0.0.1:${upstreamPort}`],
  ]);
  const global = `{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\thttp_port ${httpPort}\n\thttps_port ${port}\n}\n\n`;
  writeFileSync(join(dir, 'Caddyfile'), global + site);
  const { child, output } = spawnLogged(caddy, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    // Caddy keeps its CA and certificates under $XDG_DATA_HOME/caddy (caddyserver.com/docs/conventions#data-directory).
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  });
  const rootFile = join(dir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  const stop = stopper(child, dir);
  try {
    await waitForTls(port, () => (existsSync(rootFile) ? readFileSync(rootFile, 'utf8') : null), child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `https://${DEPLOY_HOST}:${port}`, port, ca: readFileSync(rootFile, 'utf8'), output, stop };
}

/**
 * deploy/nginx/openping.conf with real nginx (not as a daemon, its own prefix and main config in a
 * temp folder). Changed for the run: the listening ports, the certificate paths (a self-signed
 * certificate for DEPLOY_HOST made here with openssl) and the upstream port. The main config is
 * the test's own (Debian's /etc/nginx/nginx.conf includes sites-enabled; here only this site).
 */
export async function startNginx(upstreamPort: number, port: number): Promise<Deployment> {
  const nginx = requireProgram('/usr/sbin/nginx', 'nginx');
  const openssl = requireProgram('/usr/bin/openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'openping-nginx-'));
  const httpPort = await freePort();
  const cert = join(dir, 'fullchain.pem');
  const key = join(dir, 'privkey.pem');
  execFileSync(openssl, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert,
    '-subj', `/CN=${DEPLOY_HOST}`, '-addext', `subjectAltName=DNS:${DEPLOY_HOST}`,
  ], { stdio: 'pipe' });
  const site = render('deploy/nginx/openping.conf', [
    ['listen 443 ssl', `listen ${port} ssl`],
    ['listen [::]:443 ssl', `listen [::]:${port} ssl`],
    ['listen 80;', `listen ${httpPort};`],
    ['listen [::]:80;', `listen [::]:${httpPort};`],
    [`/etc/letsencrypt/live/${DEPLOY_HOST}/fullchain.pem`, cert],
    [`/etc/letsencrypt/live/${DEPLOY_HOST}/privkey.pem`, key],
    ['http://127.0.0.1:8787', `http://127.0.0.1:${upstreamPort}`],
  ]);
  writeFileSync(join(dir, 'openping.conf'), site);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `pid ${join(dir, 'nginx.pid')};`,
      'error_log stderr warn;',
      'worker_processes 1;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((sub) => `  ${sub === 'body' ? 'client_body' : sub}_temp_path ${join(dir, sub)};`),
      `  include ${join(dir, 'openping.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const { child, output } = spawnLogged(nginx, ['-e', 'stderr', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {});
  const ca = readFileSync(cert, 'utf8');
  const stop = stopper(child, dir);
  try {
    await waitForTls(port, () => ca, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `https://${DEPLOY_HOST}:${port}`, port, ca, output, stop };
}

// ── the browser ────────────────────────────────────────────────────────────

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what --ignore-certificate-errors-spki-list takes. */
export function spkiHash(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/**
 * The extension built for `serverUrl` (OPENPING_SERVER_URL) into a folder of its own, as a user gets
 * it: local servers not allowed (SPEC §6; the shared e2e build allows them) and the setup page opening
 * on install, both set here so an environment that sets them otherwise does not change what is tested.
 * Returns its chrome-mv3 folder.
 */
export function buildExtension(serverUrl: string, name: string): { dir: string; remove(): void } {
  const out = resolve(`.output/e2e-deploy-${name}-${process.pid}`);
  execFileSync('npx', ['wxt', 'build'], {
    stdio: 'pipe',
    env: { ...process.env, OPENPING_SERVER_URL: serverUrl, OPENPING_OUT_DIR: out, OPENPING_ALLOW_LOCAL_SERVER: '0', OPENPING_OPEN_SETUP: '1' },
  });
  return { dir: join(out, 'chrome-mv3'), remove: () => rmSync(out, { recursive: true, force: true }) };
}

export interface DeployedBrowser {
  context: BrowserContext;
  worker: Worker;
  close(): Promise<void>;
}

/**
 * Chromium with that build, reaching the deployment over the network as it would on the internet:
 * DEPLOY_HOST resolves to 127.0.0.1 (--host-resolver-rules), and the proxy's certificate is accepted
 * by its public key (--ignore-certificate-errors-spki-list, which Chromium honours with a
 * --user-data-dir, as a persistent context has). No request to the deployment is routed by Playwright.
 */
export async function launchDeployedExtension(extensionDir: string, leaf: X509Certificate): Promise<DeployedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'openping-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    args: [...chromiumArgs(extensionDir), `--host-resolver-rules=MAP ${DEPLOY_HOST} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${spkiHash(leaf)}`],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  return {
    context,
    worker,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The leaf certificate the deployment serves now. */
export function servedCertificate(deployment: Deployment): Promise<X509Certificate> {
  return new Promise((done, fail) => {
    const socket = connect({ host: '127.0.0.1', port: deployment.port, servername: DEPLOY_HOST, ca: deployment.ca }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      done(new X509Certificate(raw));
    });
    socket.once('error', fail);
  });
}

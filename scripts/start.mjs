// `npm start`: build the extension, then run the tracking server on the embedded
// SQLite default in the foreground until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const build = spawnSync('npx', ['wxt', 'build'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('The extension build failed; see the output above.');
  process.exit(build.status ?? 1);
}

const extensionDir = resolve('.output/chrome-mv3');
console.info(`
OpenPing extension built at ${extensionDir}
  Chrome/Edge: open chrome://extensions, turn on Developer mode, "Load unpacked", pick that folder.
  Firefox:     npm run build:firefox, then about:debugging → This Firefox → "Load Temporary Add-on"
               and pick .output/firefox-mv2/manifest.json.
${
  process.env.OPENPING_ALLOW_LOCAL_SERVER === '1'
    ? '  Built with "Allow a local server (for testing)" on: it tracks through this local server,\n  whose pixels no recipient elsewhere can load.'
    : '  This server is on localhost, where no recipient can load its pixels, so the extension does not\n  track (its setup page says why). To try it on this machine, turn on "Allow a local server (for\n  testing)" on its options page, or start with OPENPING_ALLOW_LOCAL_SERVER=1 npm start.'
}
Starting the tracking server (Ctrl-C stops it)…
`);

const server = spawn(process.execPath, ['--import', 'tsx', 'backend/main.ts'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

/**
 * `npm run server`: the tracking server in the foreground, configured by the
 * environment (SPEC §4). SIGTERM/SIGINT shut it down gracefully.
 */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { createServer } from './server.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`OpenPing: ${error.message}`);
  process.exit(2);
}
const log = createLogger(config.logLevel);
const server = createServer(config, { logger: log });

try {
  await server.listen();
} catch (error) {
  log.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

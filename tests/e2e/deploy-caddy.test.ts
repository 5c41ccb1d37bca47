/**
 * deploy/Caddyfile with real Caddy (Debian's /usr/bin/caddy, its internal CA) in front of the
 * bundled server, driven by Chromium with the extension built for the https URL: see
 * deploy-scenario.ts for what is tested and what that proves.
 */
import { startCaddy } from './deploy-harness';
import { describeDeployment } from './deploy-scenario';

describeDeployment('caddy', startCaddy);

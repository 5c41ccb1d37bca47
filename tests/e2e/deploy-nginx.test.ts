/**
 * deploy/nginx/openping.conf with real nginx (Debian's /usr/sbin/nginx, a self-signed certificate
 * made with openssl) in front of the bundled server, driven by Chromium with the extension built for
 * the https URL: see deploy-scenario.ts for what is tested and what that proves.
 */
import { startNginx } from './deploy-harness';
import { describeDeployment } from './deploy-scenario';

describeDeployment('nginx', startNginx);

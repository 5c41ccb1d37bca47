import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

/** The tracking server baked into the build; the options page can change it. */
const serverUrl = process.env.OPENPING_SERVER_URL ?? 'http://localhost:8787';

export default defineConfig({
  // @wxt-dev/i18n: locales/*.yml become _locales/*/messages.json and a typed `#i18n` (lib/i18n.ts).
  modules: ['@wxt-dev/webextension-polyfill', '@wxt-dev/i18n/module'],
  // The e2e suite builds its own copy against its test server (tests/e2e/global-setup.ts).
  outDir: process.env.OPENPING_OUT_DIR ?? '.output',
  // Explicit imports only (STYLE §5).
  imports: false,
  vite: () => ({
    plugins: [preact()],
    define: { __OPENPING_SERVER_URL__: JSON.stringify(serverUrl) },
  }),
  manifest: ({ browser, manifestVersion }) => ({
    // The browser's language picks the words (locales/*.yml); English when it has none of them.
    default_locale: 'en',
    name: '__MSG_ext_name__',
    description: '__MSG_ext_description__',
    permissions: ['storage', 'alarms', 'notifications', 'declarativeNetRequest', 'tabs'],
    host_permissions: [`${new URL(serverUrl).origin}/*`],
    // Another tracking server, chosen on the options page, is asked for at run time.
    // MV2 (Firefox) has no optional_host_permissions: origins go in optional_permissions there.
    ...(manifestVersion === 2
      ? { optional_permissions: ['https://*/*', 'http://*/*'] }
      : { optional_host_permissions: ['https://*/*', 'http://*/*'] }),
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'openping@openping.dev', strict_min_version: '128.0' } } }
      : {}),
  }),
});

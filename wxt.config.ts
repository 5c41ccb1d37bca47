import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

/** The tracking server baked into the build; the options page can change it. */
const serverUrl = process.env.OPENPING_SERVER_URL ?? 'http://localhost:8787';

/**
 * The mail sites, as the content scripts match them (entrypoints/*.content.ts). As host permissions
 * they let the background read the URLs of those tabs only, to focus the tab that shows a thread
 * (lib/notify.ts openThread), instead of `tabs`, which reads every tab's URL and makes Chrome warn
 * "Read your browsing history" (developer.chrome.com/docs/extensions/reference/api/tabs: url "is only
 * present if the extension has the "tabs" permission or has host permissions for the page").
 */
const MAIL_SITES = [
  'https://mail.google.com/*',
  'https://outlook.live.com/*',
  'https://outlook.office.com/*',
  'https://outlook.office365.com/*',
];

/** Rendered from assets/icon.svg by `npm run icons` (scripts/icons.ts) into public/icon/. */
const ICONS = { 16: 'icon/16.png', 32: 'icon/32.png', 48: 'icon/48.png', 128: 'icon/128.png' };

/**
 * A tracking server chosen on the options page is asked for at run time: any https origin, and plain
 * http only on this machine, for "Allow a local server (for testing)" (issue 17: any http origin invited
 * insecure servers that recipients' mail clients would not load anyway).
 */
const OPTIONAL_ORIGINS = ['https://*/*', 'http://localhost/*', 'http://127.0.0.1/*'];

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
    icons: ICONS,
    action: { default_icon: ICONS },
    permissions: ['storage', 'alarms', 'notifications', 'declarativeNetRequest'],
    host_permissions: [`${new URL(serverUrl).origin}/*`, ...MAIL_SITES],
    // Another tracking server, chosen on the options page, is asked for at run time.
    // MV2 (Firefox) has no optional_host_permissions: origins go in optional_permissions there.
    ...(manifestVersion === 2
      ? { optional_permissions: OPTIONAL_ORIGINS }
      : { optional_host_permissions: OPTIONAL_ORIGINS }),
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'openping@openping.dev', strict_min_version: '128.0' } } }
      : {}),
  }),
});

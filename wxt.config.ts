import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

/** The tracking server baked into the build; the options page can change it. */
const serverUrl = process.env.OPENPING_SERVER_URL ?? 'http://localhost:8787';
/** Build flags: "1" / "0", anything else is refused, so a typo does not build the wrong thing silently. */
function flag(name: string, fallback: boolean): boolean {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (value === '1' || value === '0') return value === '1';
  throw new Error(`${name} must be 1 or 0; got "${value}".`);
}
/** SPEC §6: a build for local trials and tests starts with "Allow a local server (for testing)" on. */
const allowLocalServer = flag('OPENPING_ALLOW_LOCAL_SERVER', false);
/** The setup page opens on install, except in the e2e suite's shared build (tests/e2e/global-setup.ts). */
const openSetup = flag('OPENPING_OPEN_SETUP', true);
/**
 * Test-only hooks in the background (lib/config.ts testHooks): the e2e suite's build alone sets it;
 * every other build leaves the hooks out (the constant folds away).
 */
const testHooks = flag('OPENPING_TEST_HOOKS', false);
/** The README's Deploy section, linked from every failed setup step (lib/config.ts). */
const docsUrl = process.env.OPENPING_DOCS_URL || 'https://github.com/openping/openping#deploy';

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
 * insecure servers that recipients' mail clients would not load anyway). A pattern without a port
 * matches every port (developer.chrome.com/docs/extensions/develop/concepts/match-patterns: "port
 * (optional) … treated as a wildcard"; Firefox's patterns have no port).
 */
const OPTIONAL_ORIGINS = ['https://*/*', 'http://localhost/*', 'http://127.0.0.1/*'];

export default defineConfig({
  // @wxt-dev/i18n: locales/*.yml become _locales/*/messages.json and a typed `#i18n` (lib/i18n.ts).
  modules: ['@wxt-dev/webextension-polyfill', '@wxt-dev/i18n/module'],
  // The e2e suite builds its own copy against its test server (tests/e2e/global-setup.ts).
  outDir: process.env.OPENPING_OUT_DIR ?? '.output',
  // `npm run zip`: the store packages in .output/, and the sources zip AMO asks of minified code
  // (SOURCE.md says how to rebuild from it). WXT leaves out node_modules, dot-files, *.test.* and the
  // output folder; the tests, the server's data and local databases are no part of the extension's build.
  zip: {
    excludeSources: ['tests/**', 'data/**', '**/*.db', '**/*.db-*', 'test-results/**', 'screenshots/**'],
  },
  // Explicit imports only (STYLE §5).
  imports: false,
  vite: () => ({
    plugins: [preact()],
    define: {
      __OPENPING_SERVER_URL__: JSON.stringify(serverUrl),
      __OPENPING_ALLOW_LOCAL_SERVER__: JSON.stringify(allowLocalServer),
      __OPENPING_OPEN_SETUP__: JSON.stringify(openSetup),
      __OPENPING_DOCS_URL__: JSON.stringify(docsUrl),
      __OPENPING_TEST_HOOKS__: JSON.stringify(testHooks),
    },
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
      ? {
          browser_specific_settings: {
            gecko: {
              id: 'openping@openping.dev',
              // 140 (ESR, 2025-06) is the first Firefox with data_collection_permissions; 142 on Android
              // (addons-linter KEY_FIREFOX_UNSUPPORTED_BY_MIN_VERSION otherwise).
              strict_min_version: '140.0',
              // What leaves the browser, to the tracking server the user runs (nothing to the author):
              // when each tracked message was sent and when the user's own mail page showed it (self-views),
              // under random ids — activity on the mail site, no content, addresses or URLs. STORE.md, "Firefox".
              // extensionworkshop.com/documentation/develop/firefox-builtin-data-consent
              data_collection_permissions: { required: ['websiteActivity'] },
            },
            gecko_android: { strict_min_version: '142.0' },
          },
        }
      : {}),
  }),
});

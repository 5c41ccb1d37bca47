/** Replaced at build time from OPENPING_SERVER_URL (wxt.config.ts). */
declare const __OPENPING_SERVER_URL__: string;
/** Replaced at build time: OPENPING_ALLOW_LOCAL_SERVER=1 (wxt.config.ts). */
declare const __OPENPING_ALLOW_LOCAL_SERVER__: boolean;
/** Replaced at build time: false when OPENPING_OPEN_SETUP=0 (wxt.config.ts). */
declare const __OPENPING_OPEN_SETUP__: boolean;
/** Replaced at build time: true only when OPENPING_TEST_HOOKS=1, the e2e suite's build (wxt.config.ts). */
declare const __OPENPING_TEST_HOOKS__: boolean;
/** Replaced at build time from OPENPING_DOCS_URL (wxt.config.ts). */
declare const __OPENPING_DOCS_URL__: string;

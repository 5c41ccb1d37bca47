/** Replaced at build time from OPENPING_SERVER_URL (wxt.config.ts). */
declare const __OPENPING_SERVER_URL__: string;

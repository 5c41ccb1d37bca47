/**
 * The wire contract between the tracking server and the extension (SPEC §3,
 * STYLE §13): what travels, named once, imported by both sides. Nothing here
 * may import from backend/ or lib/.
 */
export * from './health.ts';
export * from './hit.ts';
export * from './reasons.ts';

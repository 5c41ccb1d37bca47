/** The tracking server this build was made for (OPENPING_SERVER_URL at build time). */
export const defaultServerUrl: string =
  typeof __OPENPING_SERVER_URL__ === 'string' ? __OPENPING_SERVER_URL__ : 'http://localhost:8787';

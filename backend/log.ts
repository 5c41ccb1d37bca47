/**
 * pino logs. Rules: no line per hit at the default level, and never a full
 * client address — only the kept /24 or /48 prefix may appear. Request objects
 * are never logged whole (they carry the peer address and forwarding headers).
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'openping' },
      // The token travels in this header; a stray object holding it must not print it.
      redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'token'], censor: '[redacted]' },
    },
    destination,
  );
}

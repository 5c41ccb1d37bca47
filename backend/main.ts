import { createServer } from 'node:http';

// Minimal server for the foundation issue; the server issue replaces it.
const port = Number(process.env.OPENPING_PORT ?? 8787);
const host = process.env.OPENPING_HOST ?? '127.0.0.1';
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","message":"No such route."}');
});
server.listen(port, host, () => console.info(`OpenPing server listening on http://${host}:${port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));

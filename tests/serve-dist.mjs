// Minimal static file server for the Trunk output (dist/), no dependencies.
//   node tests/serve-dist.mjs [--root DIR] [--host 127.0.0.1] [--port 0]
// Prints "listening http://HOST:PORT/" on stdout once it accepts connections
// (port 0 = a free port chosen by the OS). Also importable: startServer().
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export function startServer({ root, host = '127.0.0.1', port = 0 } = {}) {
  const rootDir = path.resolve(root);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    let file = path.join(rootDir, rel);
    if (file !== rootDir && !file.startsWith(rootDir + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    if (rel.endsWith('/')) file = path.join(file, 'index.html');
    // Like `trunk serve`: a navigation to an unknown extension-less path gets
    // index.html (client-side routing); anything else missing is a real 404.
    if (!fs.existsSync(file) && !path.extname(rel) && (req.headers.accept ?? '').includes('text/html')) {
      file = path.join(rootDir, 'index.html');
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, url: `http://${host}:${addr.port}/` });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { server, url } = await startServer({
    root: opt('root', path.join(here, '..', 'dist')),
    host: opt('host', '127.0.0.1'),
    port: Number(opt('port', '0')),
  });
  console.log(`listening ${url}`);
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // browsers keep idle keep-alive sockets open
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

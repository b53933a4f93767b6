// The reference server syncbench compares syncgate with: socket.io 4.8 doing syncgate's job.
//   - per-org namespaces /org/N, admitted by a middleware that calls the upstream's
//     GET /users/me/memberships with the socket's own token (auth {token}) and requires a
//     membership of org N with a non-null role;
//   - PUT /api/orgs/{o}/people/views/{v}/rows/{p} forwarded to the upstream and, on a 2xx
//     answer, personview.addrow {viewId, personId} emitted to /org/{o};
//   - with REDIS_URL set, @socket.io/redis-adapter carries broadcasts between nodes.
// Environment: HOST, PORT, UPSTREAM (base URL, e.g. http://127.0.0.1:9000/v1), REDIS_URL.
// GET /healthz answers 200; GET /bench/stats answers process.memoryUsage() after a GC when
// node runs with --expose-gc.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8091);
const upstream = new URL(process.env.UPSTREAM || 'http://127.0.0.1:9000/v1');
const upstreamPath = upstream.pathname.replace(/\/$/, '');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

// upstreamRequest calls the upstream with the caller's Authorization and resolves to
// {status, body}.
function upstreamRequest(method, path, authorization) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (authorization) headers.authorization = authorization;
    const req = http.request({
      host: upstream.hostname, port: upstream.port, method, path: upstreamPath + path, agent, headers,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const rowPath = /^\/api(\/orgs\/([1-9][0-9]{0,17})\/people\/views\/([0-9]{1,18})\/rows\/([0-9]{1,18}))$/;
const orgNamespaces = new Map(); // "/org/N" → its namespace, once a socket joined it

async function onRequest(req, res) {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/healthz') {
    res.writeHead(200).end('ok');
    return;
  }
  if (req.method === 'GET' && url.pathname === '/bench/stats') {
    if (global.gc) global.gc();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(process.memoryUsage()));
    return;
  }
  const m = req.method === 'PUT' && rowPath.exec(url.pathname);
  if (!m) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
    return;
  }
  req.resume();
  let up;
  try {
    up = await upstreamRequest('PUT', m[1], req.headers.authorization);
  } catch (err) {
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"Bad Gateway"}');
    return;
  }
  if (up.status >= 200 && up.status < 300) {
    const nsp = orgNamespaces.get('/org/' + m[2]);
    if (nsp) nsp.emit('personview.addrow', { viewId: Number(m[3]), personId: Number(m[4]) });
  }
  res.writeHead(up.status, { 'content-type': 'application/json' }).end(up.body);
}

const server = http.createServer(onRequest);
const io = new Server(server, { serveClient: false });

// With REDIS_URL the server listens only once the adapter is in place, so no namespace is
// made (and no socket admitted) with the in-memory adapter.
let adapterReady = Promise.resolve();
if (process.env.REDIS_URL) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  adapterReady = Promise.all([pub.connect(), sub.connect()]).then(() => io.adapter(createAdapter(pub, sub)));
}

const orgs = io.of(/^\/org\/[1-9][0-9]{0,17}$/);
orgs.use(async (socket, next) => {
  const org = Number(socket.nsp.name.slice('/org/'.length));
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token !== 'string' || token === '') {
    next(new Error('unauthorized'));
    return;
  }
  try {
    const r = await upstreamRequest('GET', '/users/me/memberships', 'Bearer ' + token);
    if (r.status === 401) return next(new Error('unauthorized'));
    if (r.status !== 200) return next(new Error('unavailable'));
    const list = JSON.parse(r.body).data || [];
    if (list.some((ms) => ms.organization && ms.organization.id === org && ms.role)) return next();
    next(new Error('forbidden'));
  } catch (err) {
    next(new Error('unavailable'));
  }
});
orgs.on('connection', (socket) => {
  orgNamespaces.set(socket.nsp.name, socket.nsp);
});

adapterReady.then(() => server.listen(port, host, () => {
  console.log(`node peer listening on ${host}:${port} (socket.io ${require('socket.io/package.json').version})` +
    (process.env.REDIS_URL ? ' with the redis adapter' : ''));
}), (err) => {
  console.error('redis adapter:', err);
  process.exit(1);
});

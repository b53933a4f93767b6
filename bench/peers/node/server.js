// The reference server syncbench compares syncgate with: socket.io 4.8 doing syncgate's job.
//   - per-org namespaces /org/N, admitted by a middleware that calls the upstream's
//     GET /users/me/memberships with the socket's own token (auth {token}) and requires a
//     membership of org N with a non-null role;
//   - PUT /api/orgs/{o}/people/views/{v}/rows/{p} forwarded to the upstream and, on a 2xx
//     answer, personview.addrow {viewId, personId} emitted to /org/{o};
//   - with REDIS_URL set, @socket.io/redis-adapter carries broadcasts between nodes;
//   - with WORKERS=N (N > 1), the way users scale Node on one machine: a primary process forks
//     N workers (node:cluster, which share the listening port: the primary accepts and hands
//     connections round-robin to the workers) and @socket.io/cluster-adapter carries each
//     broadcast from the worker that got the PUT to the others over the cluster's IPC.
// Environment: HOST, PORT, UPSTREAM (base URL, e.g. http://127.0.0.1:9000/v1), REDIS_URL, WORKERS.
// GET /healthz answers 200; GET /bench/stats answers process.memoryUsage() after a GC when
// node runs with --expose-gc.
'use strict';

const http = require('node:http');
const cluster = require('node:cluster');
const { Server } = require('socket.io');

const workers = Number(process.env.WORKERS || 1);
if (workers > 1 && cluster.isPrimary) {
  // The primary only relays: it forks the workers and carries the adapter's messages.
  require('@socket.io/cluster-adapter').setupPrimary();
  for (let i = 0; i < workers; i++) cluster.fork();
  // Workers answer /healthz only once every worker listens, so a benchmark never starts on
  // a cluster that has fewer workers than it says.
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === workers) {
      for (const w of Object.values(cluster.workers)) w.send({ syncbenchReady: true });
    }
  });
  cluster.on('exit', (w, code, signal) => {
    console.error(`worker ${w.process.pid} exited (${signal || code})`);
    process.exit(1);
  });
  console.log(`node peer primary: ${workers} workers with @socket.io/cluster-adapter`);
  return;
}

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

let ready = workers <= 1;
process.on('message', (m) => { if (m && m.syncbenchReady) ready = true; });

const rowPath = /^\/api(\/orgs\/([1-9][0-9]{0,17})\/people\/views\/([0-9]{1,18})\/rows\/([0-9]{1,18}))$/;
const orgNamespaces = new Map(); // "/org/N" → its namespace, once a socket joined it

async function onRequest(req, res) {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/healthz') {
    res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'starting');
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
    const nsp = orgNamespace('/org/' + m[2]);
    if (nsp) nsp.emit('personview.addrow', { viewId: Number(m[3]), personId: Number(m[4]) });
  }
  res.writeHead(up.status, { 'content-type': 'application/json' }).end(up.body);
}

const server = http.createServer(onRequest);
const io = new Server(server, { serveClient: false });

// With REDIS_URL the server listens only once the adapter is in place, so no namespace is
// made (and no socket admitted) with the in-memory adapter.
let adapterReady = Promise.resolve();
if (workers > 1) {
  io.adapter(require('@socket.io/cluster-adapter').createAdapter());
} else if (process.env.REDIS_URL) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  adapterReady = Promise.all([pub.connect(), sub.connect()]).then(() => io.adapter(createAdapter(pub, sub)));
}

const orgs = io.of(/^\/org\/[1-9][0-9]{0,17}$/);

// orgNamespace returns the namespace to emit to. A single process emits only where a socket
// joined. A cluster worker must emit even when none of its own sockets joined (the others'
// may have), so it makes the child namespace the way socket.io does on a first CONNECT:
// through the parent (same middleware) and registered with the server.
function orgNamespace(name) {
  const nsp = orgNamespaces.get(name);
  if (nsp || workers <= 1) return nsp;
  const child = io._nsps.get(name) || orgs.createChild(name);
  io._nsps.set(name, child);
  orgNamespaces.set(name, child);
  return child;
}
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
    (process.env.REDIS_URL ? ' with the redis adapter' : '') + (workers > 1 ? ` (cluster worker ${process.pid})` : ''));
}), (err) => {
  console.error('redis adapter:', err);
  process.exit(1);
});

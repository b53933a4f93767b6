// Test harness of the kit's tests: a real syncgate process (the binary of SYNCGATE_BIN, or one
// built with `go build` from this repo), a small upstream API in this process where a test
// needs to change memberships, and a recording dispatch that can be awaited.
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

/** How long any single wait of a test may take. */
export const WAIT_MS = 15000;

let builtBin = '';

/** syncgateBin returns the syncgate binary: SYNCGATE_BIN, else one built once now. */
function syncgateBin() {
  if (process.env.SYNCGATE_BIN) return process.env.SYNCGATE_BIN;
  if (!builtBin) {
    const out = join(mkdtempSync(join(tmpdir(), 'syncgate-kit-')), 'syncgate');
    execFileSync('go', ['build', '-o', out, './cmd/syncgate'], { cwd: repoRoot, stdio: 'inherit' });
    builtBin = out;
  }
  return builtBin;
}

/**
 * startGateway runs syncgate with args on a free loopback port. stop() sends SIGTERM and
 * waits for the exit; restart() starts it again on the same port.
 * @param {import('node:test').TestContext} t
 * @param {string[]} args
 */
export async function startGateway(t, args) {
  const gw = {
    url: '',
    port: 0,
    /** @type {import('node:child_process').ChildProcess|null} */
    proc: null,
    log: '',
    async start() {
      const listen = '127.0.0.1:' + gw.port;
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SYNCGATE_')));
      const proc = spawn(syncgateBin(), ['--listen', listen, '--admin-listen', '127.0.0.1:0', ...args],
        { env, stdio: ['ignore', 'ignore', 'pipe'] });
      gw.proc = proc;
      proc.stderr.setEncoding('utf8');
      const addr = await new Promise((ok, fail) => {
        let buf = '';
        const timer = setTimeout(() => fail(new Error('syncgate did not start:\n' + buf)), WAIT_MS);
        proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`syncgate exited (${code}):\n${buf}`)); });
        proc.stderr.on('data', (chunk) => {
          buf += chunk;
          gw.log += chunk;
          const m = /msg="syncgate listening" addr=(\S+)/.exec(buf);
          if (m) { clearTimeout(timer); ok(m[1]); }
        });
      });
      gw.port = Number(String(addr).split(':').pop());
      gw.url = 'http://127.0.0.1:' + gw.port;
    },
    async stop() {
      const p = gw.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      await exited;
    },
    async restart() {
      await gw.stop();
      await gw.start();
    },
  };
  t.after(() => {
    const p = gw.proc;
    if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  await gw.start();
  return gw;
}

/**
 * startUpstream serves a tiny API for the gateway's --upstream: memberships per user (the
 * cookie user=NAME), changeable by the test, and a PUT of view rows that answers 200.
 * `unavailable` makes the memberships endpoint answer 503.
 * @param {import('node:test').TestContext} t
 * @param {Record<string, number[]>} orgsByUser
 */
export async function startUpstream(t, orgsByUser) {
  const up = {
    orgsByUser: { ...orgsByUser },
    unavailable: false,
    membershipCalls: 0,
    /** @type {(() => void)|null} called after each memberships answer */
    onMemberships: null,
    url: '',
  };
  const server = http.createServer((req, res) => {
    const user = /(?:^|;\s*)user=([a-z]+)/.exec(req.headers.cookie || '')?.[1];
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/users/me/memberships') {
      up.membershipCalls++;
      if (up.unavailable) send(503, { error: 'down' });
      else if (!user || !(user in up.orgsByUser)) send(401, { error: 'unauthorized' });
      else {
        send(200, {
          data: up.orgsByUser[user].map((id) => ({
            organization: { id, title: 'Org ' + id }, role: 'admin', profile: { id: 1, name: user }, follow: true,
          })),
        });
      }
      if (up.onMemberships) up.onMemberships();
      return;
    }
    if (req.method === 'PUT' && /^\/v1\/orgs\/\d+\/people\/views\/\d+\/rows\/\d+$/.test(req.url || '')) {
      send(200, { data: {} });
      return;
    }
    send(404, { error: 'not found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  up.url = `http://127.0.0.1:${addr.port}/v1`;
  return up;
}

/**
 * recorder is a Redux dispatch that keeps every action; waitFor resolves with the first
 * action (from index `from` on) that matches, as soon as it is dispatched.
 */
export function recorder() {
  /** @type {any[]} */
  const actions = [];
  /** @type {Set<() => void>} */
  const waiters = new Set();
  const rec = {
    actions,
    /** @param {any} action */
    dispatch(action) {
      actions.push(action);
      for (const w of [...waiters]) w();
      return action;
    },
    /**
     * @param {(a: any) => boolean} pred
     * @param {{from?: number, what?: string}} [opts]
     */
    waitFor(pred, opts = {}) {
      const from = opts.from ?? 0;
      return new Promise((ok, fail) => {
        let i = from;
        const check = () => {
          for (; i < actions.length; i++) {
            if (pred(actions[i])) {
              waiters.delete(check);
              clearTimeout(timer);
              ok(actions[i]);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`timed out waiting for ${opts.what || 'an action'}; got:\n` +
            actions.slice(from).map((a) => JSON.stringify(a)).join('\n')));
        }, WAIT_MS);
        waiters.add(check);
        check();
      });
    },
    /** @param {string} type */
    ofType(type) { return actions.filter((a) => a.type === type); },
    /** @param {string} name */
    events(name) { return actions.filter((a) => a.type === 'socket' && a.payload.name === name); },
  };
  return rec;
}

/** isStatus matches a socket/status action with the given fields. */
export function isStatus(fields) {
  return (a) => a.type === 'socket/status' && Object.entries(fields).every(([k, v]) => a.payload[k] === v);
}

/** isEvent matches the socket action of event name whose data has the given fields. */
export function isEvent(name, fields = {}) {
  return (a) => a.type === 'socket' && a.payload.name === name &&
    Object.entries(fields).every(([k, v]) => a.payload.data && a.payload.data[k] === v);
}

/**
 * api calls the gateway's /api as a user (cookie) and returns the status.
 * @param {string} base gateway URL
 * @param {string} method
 * @param {string} path after /api
 * @param {{cookie?: string, headers?: Record<string, string>}} [opts]
 */
export async function api(base, method, path, opts = {}) {
  const res = await fetch(base + '/api' + path, {
    method, headers: { ...(opts.cookie ? { Cookie: opts.cookie } : {}), ...(opts.headers || {}) },
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * startCutProxy forwards a loopback port to target (host:port). cut() drops every open
 * connection and refuses new ones until resume(): a network outage between the client and a
 * gateway that keeps running.
 * @param {import('node:test').TestContext} t
 * @param {number} targetPort
 */
export async function startCutProxy(t, targetPort) {
  const net = await import('node:net');
  /** @type {Set<import('node:net').Socket>} */
  const open = new Set();
  let cutting = false;
  const server = net.createServer((client) => {
    if (cutting) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of open) s.destroy();
    server.close();
  });
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: 'http://127.0.0.1:' + addr.port,
    cut() {
      cutting = true;
      for (const s of open) s.destroy();
    },
    resume() { cutting = false; },
  };
}

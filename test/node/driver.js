#!/usr/bin/env node
// Drives the official socket.io-client v4 for Go tests (internal/testenv).
//
// Protocol: one JSON object per line on stdin (a command with an "id"), one
// JSON object per line on stdout: either the answer to a command
// ({"id":N,"ok":true,...} or {"id":N,"ok":false,"error":"..."}) or a
// notification without "id" ({"type":"event"|"disconnect"|"connect"|
// "connect_error"|"transport","name":SOCKET,...}). Diagnostics go to stderr.
// A socket's own ID is always called "sid" ("id" is the command's).
//
// Binary values travel as {"$bin":"<base64>"} in both directions.
//
// Driver-only keys of a connect command's "opts" (removed before io() sees
// them): "manager" (share a named Manager: several namespaces on one
// connection), "notify" (connectMany only: send per-socket notifications),
// "keep" (keep a socket whose first connect failed, so it may retry),
// "waitMs" (how long to wait for connect, default 10000).
"use strict";

const readline = require("readline");
const { io } = require("socket.io-client");

const DEFAULT_WAIT_MS = 10000;
const DEFAULT_ACK_MS = 10000;

/** name -> {socket, mgr, notify, connectedOnce} */
const sockets = new Map();
/** manager name -> Manager */
const managers = new Map();
/** socket name -> Map(event -> reply args) */
const ackReplies = new Map();

function out(obj) {
  try {
    process.stdout.write(JSON.stringify(obj) + "\n");
  } catch (err) {
    logErr("cannot write to stdout: " + err);
  }
}

function logErr(msg) {
  try {
    process.stderr.write("driver: " + msg + "\n");
  } catch (_) {
    // nothing left to report to
  }
}

// ---- binary <-> JSON ------------------------------------------------------

function decodeArg(v) {
  if (Array.isArray(v)) return v.map(decodeArg);
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bin" && typeof v.$bin === "string") {
      return Buffer.from(v.$bin, "base64");
    }
    const o = {};
    for (const k of keys) o[k] = decodeArg(v[k]);
    return o;
  }
  return v;
}

function encodeArg(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(encodeArg);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = encodeArg(v[k]);
    return o;
  }
  if (typeof v === "function") return null;
  return v;
}

// ---- sockets ------------------------------------------------------------

function transportOf(socket) {
  const engine = socket && socket.io && socket.io.engine;
  return engine && engine.transport ? engine.transport.name : "";
}

// hookManager reports engine upgrades to every notifying socket of mgr.
function hookManager(mgr) {
  if (mgr.__sgHooked) return;
  mgr.__sgHooked = true;
  const attach = () => {
    const engine = mgr.engine;
    if (!engine || engine.__sgHooked) return;
    engine.__sgHooked = true;
    engine.on("upgrade", (transport) => {
      for (const [name, ent] of sockets) {
        if (ent.mgr === mgr && ent.notify) {
          out({ type: "transport", name, transport: transport && transport.name });
        }
      }
    });
  };
  attach();
  mgr.on("open", attach);
}

function errorInfo(err) {
  const info = { message: String((err && err.message) || err) };
  if (err && err.data !== undefined) info.data = encodeArg(err.data);
  return info;
}

// splitOpts separates the driver's own keys from the client's options.
function splitOpts(opts) {
  const clientOpts = Object.assign({}, opts || {});
  const own = {
    manager: clientOpts.manager,
    notify: clientOpts.notify,
    keep: clientOpts.keep === true,
    waitMs: Number(clientOpts.waitMs) > 0 ? Number(clientOpts.waitMs) : DEFAULT_WAIT_MS,
  };
  delete clientOpts.manager;
  delete clientOpts.notify;
  delete clientOpts.keep;
  delete clientOpts.waitMs;
  if (clientOpts.auth !== undefined) clientOpts.auth = decodeArg(clientOpts.auth);
  return { clientOpts, own };
}

function newSocket(url, clientOpts, managerName) {
  if (managerName === undefined || managerName === null || managerName === "") {
    const o = Object.assign({}, clientOpts);
    if (o.forceNew !== false) o.forceNew = true;
    return io(url, o);
  }
  const mname = String(managerName);
  const existing = managers.get(mname);
  if (existing) {
    const nsp = new URL(url).pathname || "/";
    return existing.socket(nsp, clientOpts);
  }
  const socket = io(url, Object.assign({}, clientOpts, { forceNew: true }));
  managers.set(mname, socket.io);
  return socket;
}

// openSocket creates socket `name` and settles when it connects, fails or
// times out: resolve({ok:true, sid, transport, recovered}) or
// resolve({ok:false, error, data?, hanging?}). It never rejects.
function openSocket(name, url, opts, notifyDefault) {
  return new Promise((resolve) => {
    if (typeof name !== "string" || name === "") {
      resolve({ ok: false, error: "missing socket name" });
      return;
    }
    if (sockets.has(name)) {
      resolve({ ok: false, error: `socket name ${JSON.stringify(name)} in use`, busy: true });
      return;
    }
    if (typeof url !== "string" || url === "") {
      resolve({ ok: false, error: "missing url" });
      return;
    }
    const { clientOpts, own } = splitOpts(opts);
    const notify = own.notify === undefined ? notifyDefault : own.notify === true;
    let socket;
    try {
      new URL(url); // reject malformed URLs before the client guesses
      socket = newSocket(url, clientOpts, own.manager);
    } catch (err) {
      resolve({ ok: false, error: "cannot create socket: " + ((err && err.message) || err) });
      return;
    }
    const ent = { socket, mgr: socket.io, notify, connectedOnce: false };
    sockets.set(name, ent);
    hookManager(socket.io);

    let settled = false;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result.ok && !own.keep) forget(name);
      resolve(result);
    };
    const timer = setTimeout(() => {
      settle({ ok: false, error: "timeout", hanging: true });
    }, own.waitMs);

    socket.on("connect", () => {
      if (sockets.get(name) !== ent) return;
      if (!ent.connectedOnce) {
        ent.connectedOnce = true;
        if (!settled) {
          settle({
            ok: true,
            sid: socket.id,
            transport: transportOf(socket),
            recovered: socket.recovered === true,
          });
          return;
        }
      }
      if (ent.notify) {
        out({ type: "connect", name, sid: socket.id, recovered: socket.recovered === true });
      }
    });
    socket.on("connect_error", (err) => {
      if (sockets.get(name) !== ent) return;
      const info = errorInfo(err);
      if (!settled && !ent.connectedOnce) {
        const r = { ok: false, error: info.message };
        if (info.data !== undefined) r.data = info.data;
        settle(r);
        return;
      }
      if (ent.notify) out(Object.assign({ type: "connect_error", name }, info));
    });
    socket.on("disconnect", (reason) => {
      if (sockets.get(name) !== ent) return;
      if (ent.notify) out({ type: "disconnect", name, reason: String(reason) });
    });
    socket.onAny((event, ...args) => {
      if (sockets.get(name) !== ent) return;
      let ack = null;
      if (args.length > 0 && typeof args[args.length - 1] === "function") ack = args.pop();
      if (ent.notify) {
        const n = { type: "event", name, event, args: encodeArg(args) };
        if (ack) n.ack = true;
        out(n);
      }
      const replies = ackReplies.get(name);
      if (ack && replies && replies.has(event)) {
        try {
          ack(...decodeArg(replies.get(event)));
        } catch (err) {
          logErr(`ack of ${event} on ${name}: ${err}`);
        }
      }
    });
  });
}

// forget disconnects socket `name` and drops everything the driver knows of it.
function forget(name) {
  const ent = sockets.get(name);
  if (!ent) return false;
  sockets.delete(name);
  ackReplies.delete(name);
  try {
    ent.socket.offAny();
    ent.socket.disconnect();
  } catch (err) {
    logErr(`closing ${name}: ${err}`);
  }
  return true;
}

function closeAll() {
  for (const name of Array.from(sockets.keys())) forget(name);
  for (const mgr of managers.values()) {
    try {
      mgr._close();
    } catch (_) {
      // already closed
    }
  }
  managers.clear();
  ackReplies.clear();
}

function mustSocket(name) {
  const ent = sockets.get(name);
  if (!ent) throw new Error(`unknown socket ${JSON.stringify(name)}`);
  return ent;
}

// ---- commands -----------------------------------------------------------

const handlers = {
  async connect(cmd) {
    const r = await openSocket(cmd.name, cmd.url, cmd.opts, true);
    delete r.hanging;
    // "busy": the name belongs to another socket, which is left alone.
    return r;
  },

  async emit(cmd) {
    const ent = mustSocket(cmd.name);
    if (typeof cmd.event !== "string" || cmd.event === "") throw new Error("missing event");
    const args = decodeArg(Array.isArray(cmd.args) ? cmd.args : []);
    if (!cmd.ack) {
      ent.socket.emit(cmd.event, ...args);
      return { ok: true };
    }
    const ms = Number(cmd.timeout) > 0 ? Number(cmd.timeout) : DEFAULT_ACK_MS;
    return new Promise((resolve) => {
      ent.socket.timeout(ms).emit(cmd.event, ...args, (err, ...resp) => {
        if (err) {
          const msg = String((err && err.message) || err);
          resolve({ ok: false, error: msg === "operation has timed out" ? "timeout" : msg });
          return;
        }
        resolve({ ok: true, ack: encodeArg(resp) });
      });
    });
  },

  async onAck(cmd) {
    if (typeof cmd.name !== "string" || cmd.name === "") throw new Error("missing socket name");
    if (typeof cmd.event !== "string" || cmd.event === "") throw new Error("missing event");
    if (!ackReplies.has(cmd.name)) ackReplies.set(cmd.name, new Map());
    ackReplies.get(cmd.name).set(cmd.event, Array.isArray(cmd.reply) ? cmd.reply : []);
    return { ok: true };
  },

  async disconnect(cmd) {
    mustSocket(cmd.name).socket.disconnect();
    return { ok: true };
  },

  async close(cmd) {
    if (!forget(cmd.name)) throw new Error(`unknown socket ${JSON.stringify(cmd.name)}`);
    return { ok: true };
  },

  async state(cmd) {
    const ent = mustSocket(cmd.name);
    return {
      ok: true,
      connected: ent.socket.connected === true,
      sid: ent.socket.id || "",
      transport: transportOf(ent.socket),
    };
  },

  async connectMany(cmd) {
    const prefix = typeof cmd.prefix === "string" ? cmd.prefix : "";
    if (prefix === "") throw new Error("missing prefix");
    const count = Math.floor(Number(cmd.count));
    if (!(count > 0)) throw new Error("count must be positive");
    const conc = Math.max(1, Math.floor(Number(cmd.concurrency)) || 100);
    const opts = Object.assign({}, cmd.opts || {});
    const result = { ok: true, connected: 0, errors: {}, hanging: 0 };
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const r = await openSocket(prefix + i, cmd.url, opts, false);
        if (r.ok) result.connected++;
        else if (r.hanging) result.hanging++;
        else result.errors[r.error] = (result.errors[r.error] || 0) + 1;
      }
    };
    const workers = [];
    for (let w = 0; w < Math.min(conc, count); w++) workers.push(worker());
    await Promise.all(workers);
    return result;
  },

  async closeAll() {
    closeAll();
    return { ok: true };
  },

  async exit() {
    closeAll();
    setImmediate(() => process.exit(0));
    return { ok: true };
  },
};

async function handleLine(line) {
  if (line.trim() === "") return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    logErr(`bad JSON line ignored: ${err.message}: ${line.slice(0, 200)}`);
    return;
  }
  if (cmd === null || typeof cmd !== "object" || Array.isArray(cmd)) {
    logErr(`command is not an object: ${line.slice(0, 200)}`);
    return;
  }
  const id = cmd.id;
  const answer = (r) => {
    if (id === undefined) return;
    out(Object.assign({}, r, { id }));
  };
  const h = Object.prototype.hasOwnProperty.call(handlers, cmd.op) ? handlers[cmd.op] : null;
  if (!h) {
    logErr(`unknown op ${JSON.stringify(cmd.op)}`);
    answer({ ok: false, error: `unknown op ${JSON.stringify(cmd.op)}` });
    return;
  }
  try {
    answer(await h(cmd));
  } catch (err) {
    const msg = String((err && err.message) || err);
    logErr(`${cmd.op} failed: ${msg}`);
    answer({ ok: false, error: msg });
  }
}

process.on("uncaughtException", (err) => logErr("uncaught: " + ((err && err.stack) || err)));
process.on("unhandledRejection", (err) => logErr("unhandled rejection: " + ((err && err.stack) || err)));
process.stdout.on("error", (err) => {
  // The reader is gone (the Go test ended): nothing left to do.
  logErr("stdout: " + err.message);
  process.exit(0);
});

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  handleLine(line);
});
rl.on("close", () => {
  closeAll();
  process.exit(0);
});

#!/usr/bin/env node
// The soak test's client fleet (test/soak): many logical sockets of the official
// socket.io-client, each with an identity that persists across its reconnects, plus churn
// and client events. socket.io-client is resolved through NODE_PATH (test/node/node_modules).
//
// argv[2]: JSON config {nodes:[url], sockets, orgs, views, orgBase, prefix, roomShare,
// pollingShare, churnPerSec, fullCloseShare, switchShare, clientEventsPerSec, idBase,
// rampMs, seed}. stdin: "quiesce" (stop churn and client events), "final" (report each
// socket's state, close everything, exit). stdout: one JSON array per line, time in ms:
//   ["new", L, org, view, transport, t]      a logical socket was created
//   ["attempt", L, t, node]                   a (re)connect attempt goes to node index
//   ["conn", L, t, node, recovered, sid]      connected
//   ["disc", L, t, reason]                    disconnected
//   ["cerr", L, t, message]                   connect_error
//   ["sub", L, t, view, ok]                   subscribe ack
//   ["resync", L, t, reason]                  resync event
//   ["ev", L, t, name, id, view]              a data event (id = personId or rowId)
//   ["close", L, t, why]                      deliberately closed by the soak
//   ["ce", L, tSent, tAck, id, ok]            a client event this socket sent, and its ack
//   ["final", L, connected]                   state at the end
//   ["done"]
"use strict";

const readline = require("readline");
const { io } = require("socket.io-client");

const cfg = JSON.parse(process.argv[2]);
let seed = cfg.seed >>> 0 || 1;
function rand() {
  // mulberry32: reproducible choices per seed
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

let lines = [];
function out(a) {
  lines.push(JSON.stringify(a));
  if (lines.length >= 256) flush();
}
function flush() {
  if (lines.length === 0) return;
  process.stdout.write(lines.join("\n") + "\n");
  lines = [];
}
setInterval(flush, 50).unref();

const live = new Map(); // L -> state
let nextLocal = 0;
let ceSeq = 0;
let quiesced = false;

function newSocket(org, view, transport) {
  const L = cfg.prefix + "-" + nextLocal++;
  const st = { L, org, view, transport, node: Math.floor(rand() * cfg.nodes.length), closed: false, sock: null };
  out(["new", L, org, view, transport, Date.now()]);
  const transports = transport === "polling" ? ["polling"] : transport === "upgrade" ? ["polling", "websocket"] : ["websocket"];
  const sock = io(cfg.nodes[st.node] + "/org/" + org, {
    forceNew: true,
    transports,
    auth: { token: "member-" + org },
    reconnection: true,
    reconnectionDelay: 300,
    reconnectionDelayMax: 2000,
    randomizationFactor: 0.5,
    timeout: 10000,
  });
  st.sock = sock;
  live.set(L, st);
  out(["attempt", L, Date.now(), st.node]);
  sock.io.on("reconnect_attempt", (n) => {
    // Land on the other node sometimes, and always after a failed attempt.
    if (cfg.nodes.length > 1 && (n > 1 || rand() < cfg.switchShare)) {
      st.node = (st.node + 1 + Math.floor(rand() * (cfg.nodes.length - 1))) % cfg.nodes.length;
    }
    sock.io.uri = cfg.nodes[st.node];
    out(["attempt", L, Date.now(), st.node]);
  });
  sock.on("connect", () => {
    const t = Date.now();
    out(["conn", L, t, st.node, sock.recovered === true, sock.id]);
    if (!sock.recovered && view > 0) {
      sock.emit("subscribe", "view:" + view, (res) => {
        out(["sub", L, Date.now(), view, !!(res && res.ok)]);
      });
    }
  });
  sock.on("disconnect", (reason) => {
    out(["disc", L, Date.now(), String(reason)]);
    if (reason === "io server disconnect" && !st.closed) {
      // The server ended the socket (not a transport close): connect again, as an app would.
      setTimeout(() => { if (!st.closed) { out(["attempt", L, Date.now(), st.node]); sock.connect(); } }, 500);
    }
  });
  sock.on("connect_error", (err) => {
    out(["cerr", L, Date.now(), String(err && err.message)]);
    // A refused CONNECT (not a transport failure) is not retried by the client itself.
    if (!sock.active && !st.closed) {
      setTimeout(() => { if (!st.closed) { out(["attempt", L, Date.now(), st.node]); sock.connect(); } }, 1000);
    }
  });
  sock.on("resync", (d) => out(["resync", L, Date.now(), String(d && d.reason)]));
  sock.onAny((name, data) => {
    if (name === "resync") return;
    const d = data || {};
    const id = name === "user.typing" ? d.rowId : d.personId;
    out(["ev", L, Date.now(), name, typeof id === "number" ? id : -1, typeof d.viewId === "number" ? d.viewId : 0]);
  });
  return st;
}

function pick() {
  const arr = Array.from(live.values());
  for (let i = 0; i < 5 && arr.length; i++) {
    const st = arr[Math.floor(rand() * arr.length)];
    if (st.sock.connected) return st;
  }
  return null;
}

function churnOne() {
  const st = pick();
  if (!st) return;
  if (rand() < cfg.fullCloseShare) {
    st.closed = true;
    out(["close", st.L, Date.now(), "full"]);
    st.sock.disconnect();
    live.delete(st.L);
    newSocket(st.org, st.view, st.transport);
  } else {
    // The transport goes away; the Manager reconnects and the socket attempts recovery.
    st.sock.io.engine.close();
  }
}

function clientEvent() {
  const st = pick();
  if (!st) return;
  const id = cfg.idBase + ++ceSeq;
  const t0 = Date.now();
  st.sock.timeout(10000).emit("user.typing", { viewId: 1, rowId: id }, (err, res) => {
    out(["ce", st.L, t0, Date.now(), id, !err && !!(res && res.ok)]);
  });
}

// Ramp up: sockets spread over rampMs.
const transportsOf = (i) => {
  const r = (i * 7919) % 100;
  if (r < cfg.pollingShare * 100) return "polling";
  if (r < cfg.pollingShare * 100 + 10) return "upgrade";
  return "websocket";
};
for (let i = 0; i < cfg.sockets; i++) {
  const org = cfg.orgBase + (i % cfg.orgs);
  const view = rand() < cfg.roomShare ? 1 + (i % cfg.views) : 0;
  setTimeout(() => newSocket(org, view, transportsOf(i)), Math.floor((cfg.rampMs * i) / cfg.sockets));
}

// Poisson-ish churn and client events, 10 ticks a second.
function every(perSec, fn) {
  let acc = 0;
  return setInterval(() => {
    if (quiesced) return;
    acc += perSec / 10;
    while (acc >= 1) { acc -= 1; fn(); }
    if (acc > 0 && rand() < acc) { acc = 0; fn(); }
  }, 100);
}
setTimeout(() => {
  every(cfg.churnPerSec, churnOne);
  every(cfg.clientEventsPerSec, clientEvent);
}, cfg.rampMs + 1000);

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = line.trim();
  if (cmd === "quiesce") quiesced = true;
  if (cmd === "final") {
    quiesced = true;
    for (const st of live.values()) {
      out(["final", st.L, st.sock.connected]);
      st.closed = true;
      st.sock.disconnect();
    }
    out(["done"]);
    flush();
    setTimeout(() => process.exit(0), 100);
  }
});
process.stdin.on("end", () => process.exit(0));

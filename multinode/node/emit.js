#!/usr/bin/env node
// Publishes broadcasts with the official @socket.io/redis-emitter, for multinode's
// interop tests: node emit.js REDIS_URL JSON, where JSON is a list of
// {"nsp": "/org/1", "event": "person.updated", "args": [...], "to": "room"?, "except": "room"?}
// published in order on one Redis connection. Exits 0 once Redis has taken them all.
"use strict";

const { createClient } = require("redis");
const { Emitter } = require("@socket.io/redis-emitter");

async function main() {
  const [url, spec] = process.argv.slice(2);
  if (!url || !spec) throw new Error("usage: node emit.js REDIS_URL JSON");
  const emits = JSON.parse(spec);
  const client = createClient({ url });
  client.on("error", (err) => process.stderr.write("emit.js: redis: " + err + "\n"));
  await client.connect();
  const io = new Emitter(client);
  for (const e of emits) {
    let op = io.of(e.nsp);
    if (e.to) op = op.to(e.to);
    if (e.except) op = op.except(e.except);
    op.emit(e.event, ...(e.args || []));
  }
  // QUIT is answered after every PUBLISH queued before it on this connection.
  await client.quit();
}

main().catch((err) => {
  process.stderr.write("emit.js: " + ((err && err.stack) || err) + "\n");
  process.exit(1);
});

// Connection status, resync and recovery against a gateway that stops, restarts, loses its
// network, or revokes a membership.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createSyncClient, SOCKET, SOCKET_RESYNC, SOCKET_STATUS } from '../src/index.js';
import { api, isEvent, isStatus, recorder, startCutProxy, startGateway, startUpstream } from './harness.js';

const ROW = '/orgs/1/people/views/1/rows';

/** states lists the status changes from index from on, as "state:reason". */
function states(rec, from = 0) {
  return rec.actions.slice(from).filter((a) => a.type === SOCKET_STATUS).map((a) => `${a.payload.state}:${a.payload.reason}`);
}

test('a gateway restart: reconnecting, offline, then connected and exactly one resync', async (t) => {
  const gw = await startGateway(t, ['--demo']);
  const rec = recorder();
  const sync = createSyncClient({
    dispatch: rec.dispatch, url: gw.url, org: 1,
    socketOptions: { extraHeaders: { cookie: 'demo_user=alice' } },
  });
  t.after(() => sync.close());
  await rec.waitFor(isStatus({ state: 'connected' }), { what: 'connected' });
  const from = rec.actions.length;

  await gw.stop();
  const reconnecting = await rec.waitFor(isStatus({ state: 'reconnecting' }), { from, what: 'reconnecting' });
  assert.equal(reconnecting.payload.retrying, true);
  const offline = await rec.waitFor(isStatus({ state: 'offline' }), { from, what: 'offline' });
  assert.equal(offline.payload.retrying, true, 'offline while the gateway is down, still trying');
  assert.equal(sync.socketId, null);

  await gw.start();
  const back = await rec.waitFor(isStatus({ state: 'connected' }), { from, what: 'connected again' });
  assert.equal(back.payload.recovered, false, 'a new gateway process cannot recover the session');
  // Barrier: an event sent after the reconnect; the gateway's own resync came before it.
  assert.equal(await api(gw.url, 'PUT', ROW + '/5', { cookie: 'demo_user=bob' }), 200);
  await rec.waitFor(isEvent('personview.addrow', { personId: 5 }), { from, what: 'an event after the restart' });
  const resyncs = rec.ofType(SOCKET_RESYNC);
  assert.deepEqual(resyncs.map((a) => a.payload), [{ org: '1', reason: 'reconnect' }], 'one resync, not one per cause');
  assert.deepEqual(rec.events('resync').map((a) => a.payload.data), [{ reason: 'recovery failed' }],
    'the gateway\'s resync event is still dispatched as a socket action');
  assert.deepEqual(states(rec, from).slice(0, 2), ['reconnecting:transport close', 'offline:' + offline.payload.reason]);
});

test('a short network cut is recovered: missed events replayed, no resync', async (t) => {
  const gw = await startGateway(t, ['--demo']);
  const proxy = await startCutProxy(t, gw.port);
  const rec = recorder();
  const sync = createSyncClient({
    dispatch: rec.dispatch, url: proxy.url, org: 1,
    socketOptions: { extraHeaders: { cookie: 'demo_user=alice' }, reconnectionDelay: 100, reconnectionDelayMax: 200 },
  });
  t.after(() => sync.close());
  await rec.waitFor(isStatus({ state: 'connected' }), { what: 'connected' });
  // Recovery resumes after the last event received (its offset), so receive one first.
  assert.equal(await api(gw.url, 'PUT', ROW + '/5', { cookie: 'demo_user=bob' }), 200);
  await rec.waitFor(isEvent('personview.addrow', { personId: 5 }), { what: 'an event before the cut' });
  const from = rec.actions.length;

  proxy.cut();
  await rec.waitFor(isStatus({ state: 'offline' }), { from, what: 'offline during the cut' });
  // Sent while the client cannot hear it.
  assert.equal(await api(gw.url, 'PUT', ROW + '/6', { cookie: 'demo_user=bob' }), 200);
  proxy.resume();
  const back = await rec.waitFor(isStatus({ state: 'connected' }), { from, what: 'connected again' });
  assert.equal(back.payload.recovered, true);
  const missed = await rec.waitFor(isEvent('personview.addrow', { personId: 6 }), { from, what: 'the missed event' });
  assert.deepEqual(missed.payload.data, { viewId: 1, personId: 6 });
  assert.equal(rec.ofType(SOCKET_RESYNC).length, 0, 'a recovered reconnect needs no resync');
  assert.equal(rec.events('resync').length, 0);
});

test('a revoked membership: offline "revoked", no retry', async (t) => {
  const up = await startUpstream(t, { alice: [1] });
  const gw = await startGateway(t, ['--upstream', up.url, '--membership-ttl', '300ms']);
  const rec = recorder();
  const sync = createSyncClient({
    dispatch: rec.dispatch, url: gw.url, org: 1,
    socketOptions: { extraHeaders: { cookie: 'user=alice' } },
  });
  t.after(() => sync.close());
  await rec.waitFor(isStatus({ state: 'connected' }), { what: 'connected' });
  up.orgsByUser.alice = [2];
  const off = await rec.waitFor(isStatus({ state: 'offline' }), { what: 'offline after the revocation' });
  assert.deepEqual({ reason: off.payload.reason, detail: off.payload.detail, retrying: off.payload.retrying },
    { reason: 'revoked', detail: 'forbidden', retrying: false });
  assert.deepEqual(rec.events('revoked').map((a) => a.payload.data), [{ reason: 'forbidden' }]);
  assert.equal(rec.actions.at(-1), off, 'nothing after going offline');
});

test('"unavailable" (memberships cannot be checked): the kit keeps retrying until admitted', async (t) => {
  const up = await startUpstream(t, { alice: [1] });
  up.unavailable = true;
  const gw = await startGateway(t, ['--upstream', up.url]);
  const rec = recorder();
  const sync = createSyncClient({
    dispatch: rec.dispatch, url: gw.url, org: 1, retryDelay: { min: 20, max: 40 },
    socketOptions: { extraHeaders: { cookie: 'user=alice' } },
  });
  t.after(() => sync.close());
  const off = await rec.waitFor(isStatus({ state: 'offline' }), { what: 'offline: unavailable' });
  assert.deepEqual({ reason: off.payload.reason, retrying: off.payload.retrying }, { reason: 'unavailable', retrying: true });
  // The kit retries by itself: wait for a second failed check before the upstream comes back.
  const calls = up.membershipCalls;
  await new Promise((ok) => { up.onMemberships = () => { if (up.membershipCalls > calls) ok(); }; });
  up.onMemberships = null;
  up.unavailable = false;
  await rec.waitFor(isStatus({ state: 'connected' }), { what: 'connected once the upstream is back' });
  assert.equal(rec.ofType(SOCKET).length, 0);
});

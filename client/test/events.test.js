// The kit against the real gateway in --demo mode: events become the PoC's actions, orgs are
// isolated, switching orgs is clean, refusals are reported.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import { io } from 'socket.io-client';

import { createSyncClient, orgId, SOCKET, SOCKET_RESYNC } from '../src/index.js';
import { api, isEvent, isStatus, recorder, startGateway } from './harness.js';

const ROW = '/orgs/1/people/views/1/rows';

/** kit connects a recorder as a demo user (the demo API reads the demo_user cookie). */
function kit(t, gw, user, org) {
  const rec = recorder();
  const sync = createSyncClient({
    dispatch: rec.dispatch, url: gw.url, org,
    socketOptions: user ? { extraHeaders: { cookie: 'demo_user=' + user } } : {},
  });
  t.after(() => sync.close());
  return { rec, sync };
}

test('kit', async (t) => {
  const gw = await startGateway(t, ['--demo']);

  await t.test('every event is the PoC action {type: "socket", payload: {name, data}}, data without the recovery offset', async (t) => {
    const { rec } = kit(t, gw, 'alice', 1);
    // A plain socket.io-client next to the kit shows what the wire carries: the offset.
    const raw = io(gw.url + '/org/1', { transports: ['websocket'], extraHeaders: { cookie: 'demo_user=alice' } });
    t.after(() => raw.close());
    const rawArgs = new Promise((ok) => raw.on('personview.addrow', (...args) => ok(args)));
    await once(raw, 'connect');
    await rec.waitFor(isStatus({ state: 'connected', org: '1' }), { what: 'connected' });
    assert.equal(await api(gw.url, 'PUT', ROW + '/5', { cookie: 'demo_user=bob' }), 200);
    const a = await rec.waitFor(isEvent('personview.addrow'), { what: 'personview.addrow' });
    const args = await rawArgs;
    assert.equal(args.length, 2, 'the gateway appends its recovery offset');
    assert.equal(typeof args[1], 'string');
    assert.deepEqual(a, { type: SOCKET, payload: { name: 'personview.addrow', data: { viewId: 1, personId: 5 } } });
    assert.equal(await api(gw.url, 'DELETE', ROW + '/5', { cookie: 'demo_user=bob' }), 204);
    const d = await rec.waitFor(isEvent('personview.deleterow'), { what: 'personview.deleterow' });
    assert.deepEqual(d.payload, { name: 'personview.deleterow', data: { viewId: 1, personId: 5 } });
    assert.equal(rec.ofType(SOCKET_RESYNC).length, 0, 'a first connect is no resync');
  });

  // Per-org isolation is the product: carol (org 2) must never see org 1's events.
  await t.test('a socket of another org sees nothing of org 1', async (t) => {
    const carol = kit(t, gw, 'carol', 2);
    const alice = kit(t, gw, 'alice', 1);
    await carol.rec.waitFor(isStatus({ state: 'connected' }), { what: 'carol connected' });
    await alice.rec.waitFor(isStatus({ state: 'connected' }), { what: 'alice connected' });
    const from = carol.rec.actions.length;
    assert.equal(await api(gw.url, 'PUT', ROW + '/6', { cookie: 'demo_user=alice' }), 200);
    await alice.rec.waitFor(isEvent('personview.addrow', { personId: 6 }), { what: 'org 1 event at alice' });
    // Barrier: an org 2 change after the org 1 change; carol's first event must be it.
    assert.equal(await api(gw.url, 'PUT', '/orgs/2/people/views/1/rows/13', { cookie: 'demo_user=alice' }), 200);
    const first = await carol.rec.waitFor((a) => a.type === SOCKET, { from, what: 'org 2 event at carol' });
    assert.deepEqual(first.payload, { name: 'personview.addrow', data: { viewId: 1, personId: 13 } });
  });

  await t.test('switchOrg stops the old org at once and joins the new one', async (t) => {
    const { rec, sync } = kit(t, gw, 'alice', 1);
    await rec.waitFor(isStatus({ state: 'connected', org: '1' }), { what: 'connected to org 1' });
    sync.switchOrg(2);
    assert.equal(sync.org, '2');
    assert.equal(sync.status.org, '2');
    assert.equal(sync.status.state, 'reconnecting');
    const from = rec.actions.length;
    await rec.waitFor(isStatus({ state: 'connected', org: '2' }), { from, what: 'connected to org 2' });
    assert.equal(await api(gw.url, 'PUT', ROW + '/7', { cookie: 'demo_user=alice' }), 200);
    assert.equal(await api(gw.url, 'PUT', '/orgs/2/people/views/1/rows/14', { cookie: 'demo_user=alice' }), 200);
    const first = await rec.waitFor((a) => a.type === SOCKET, { from, what: 'an event after the switch' });
    assert.deepEqual(first.payload.data, { viewId: 1, personId: 14 }, 'the first event after the switch is org 2\'s');
    // Same org again: nothing happens (no new connection, no status change).
    const n = rec.actions.length;
    sync.switchOrg('2');
    assert.equal(rec.actions.length, n);
    sync.switchOrg(null);
    assert.deepEqual({ state: sync.status.state, org: sync.status.org, reason: sync.status.reason }, { state: 'offline', org: null, reason: 'closed' });
  });

  await t.test('refused sockets go offline with the gateway\'s reason and stop trying', async (t) => {
    for (const [user, want] of [['dave', 'forbidden'], ['carol', 'forbidden'], ['', 'unauthorized']]) {
      const { rec, sync } = kit(t, gw, user, 1);
      const s = await rec.waitFor(isStatus({ state: 'offline' }), { what: `${user || 'anonymous'} refused` });
      assert.equal(s.payload.reason, want, `${user || 'anonymous'}`);
      assert.equal(s.payload.retrying, false);
      assert.equal(sync.socketId, null);
      await assert.rejects(sync.emitClientEvent('view.cell.select', { viewId: 1 }), { code: 'offline' });
    }
  });

  await t.test('originHeaders make the gateway skip the caller\'s own socket only', async (t) => {
    const a = kit(t, gw, 'alice', 1);
    const b = kit(t, gw, 'alice', 1);
    await a.rec.waitFor(isStatus({ state: 'connected' }), { what: 'A connected' });
    await b.rec.waitFor(isStatus({ state: 'connected' }), { what: 'B connected' });
    assert.match(a.sync.originHeaders()['X-Socket-ID'], /^\S+$/);
    const from = a.rec.actions.length;
    assert.equal(await api(gw.url, 'PUT', ROW + '/8', { cookie: 'demo_user=alice', headers: a.sync.originHeaders() }), 200);
    await b.rec.waitFor(isEvent('personview.addrow', { personId: 8 }), { what: 'B gets A\'s change' });
    // Barrier: a change without the header; A's first event must be that one.
    assert.equal(await api(gw.url, 'DELETE', ROW + '/8', { cookie: 'demo_user=alice' }), 204);
    const first = await a.rec.waitFor((x) => x.type === SOCKET, { from, what: 'A\'s first event' });
    assert.equal(first.payload.name, 'personview.deleterow');
  });
});

// The org becomes part of the namespace path: "1/../admin" or "1?x" would reach another
// namespace or smuggle a query if it were pasted in unchecked.
test('orgs that are not IDs are refused before anything is sent', () => {
  for (const bad of ['1/../admin', '1?x=1', '1.5', 1.5, -3, '', ' 1', 'a b', 'a/b', '%2F', 'x'.repeat(65), NaN, {}, [1], 2 ** 64]) {
    assert.throws(() => orgId(/** @type {any} */ (bad)), TypeError, JSON.stringify(bad));
    const sync = createSyncClient({ dispatch: () => assert.fail('dispatched for ' + String(bad)), io: () => assert.fail('connected') });
    assert.throws(() => sync.switchOrg(/** @type {any} */ (bad)), TypeError);
  }
  assert.equal(orgId(7), '7');
  assert.equal(orgId('42'), '42');
  // Text org IDs, as the gateway's default --org-id-format text accepts them.
  assert.equal(orgId('acme-corp'), 'acme-corp');
  assert.equal(orgId('3f6c1a52-9a0e-4c1e-8f36-2b0d4c9e1a77'), '3f6c1a52-9a0e-4c1e-8f36-2b0d4c9e1a77');
  assert.equal(orgId('007'), '007');
});

test('the namespace prefix is the gateway\'s and is checked', () => {
  const urls = [];
  const fakeIo = (/** @type {string} */ u) => { urls.push(u); return { on() {}, onAny() {}, io: { on() {} }, connect() {}, disconnect() {}, close() {} }; };
  for (const bad of ['org', '/org/', '/', '/a b', '/org?x', '']) {
    assert.throws(() => createSyncClient({ namespacePrefix: bad, io: /** @type {any} */ (fakeIo) }), TypeError, bad);
  }
  assert.equal(urls.length, 0);
  const sync = createSyncClient({ namespacePrefix: '/team', url: 'http://gw', io: /** @type {any} */ (fakeIo) });
  sync.switchOrg('acme-corp');
  assert.deepEqual(urls, ['http://gw/team/acme-corp']);
});

// Client events and rooms through the real gateway, with a trigger file that declares them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createSyncClient, SOCKET } from '../src/index.js';
import { isEvent, isStatus, recorder, startGateway, startUpstream } from './harness.js';

const triggers = join(fileURLToPath(new URL('.', import.meta.url)), 'triggers.yaml');

test('client events and rooms', async (t) => {
  const up = await startUpstream(t, { alice: [1], bob: [1], carol: [2] });
  const gw = await startGateway(t, ['--upstream', up.url, '--triggers', triggers]);
  /** @param {string} user @param {number} org @param {string[]} [clientEvents] */
  const kit = (user, org, clientEvents) => {
    const rec = recorder();
    const sync = createSyncClient({
      dispatch: rec.dispatch, url: gw.url, org, clientEvents,
      socketOptions: { extraHeaders: { cookie: 'user=' + user } },
    });
    t.after(() => sync.close());
    return { rec, sync };
  };
  const a = kit('alice', 1, ['view.cell.select', 'view.cursor', 'view.undeclared']);
  const b = kit('bob', 1);
  const c = kit('carol', 2);
  for (const k of [a, b, c]) await k.rec.waitFor(isStatus({ state: 'connected' }), { what: 'connected' });

  await t.test('a declared client event reaches the rest of the org as a socket action', async () => {
    const fromA = a.rec.actions.length;
    const fromC = c.rec.actions.length;
    assert.deepEqual(await a.sync.emitClientEvent('view.cell.select', { viewId: 1, rowId: 3 }), { ok: true });
    const got = await b.rec.waitFor(isEvent('view.cell.select'), { what: 'the client event at bob' });
    assert.deepEqual(got.payload.data, { viewId: 1, rowId: 3, by: a.sync.socketId });
    // Barrier: bob's own event reaches alice and carol's org gets one of carol's; nothing else came first.
    await b.sync.emitClientEvent('view.cell.select', { viewId: 1, rowId: 4 });
    const firstA = await a.rec.waitFor((x) => x.type === SOCKET, { from: fromA, what: 'bob\'s event at alice' });
    assert.equal(firstA.payload.data.by, b.sync.socketId, 'the sender does not get its own event back');
    const d = kit('carol', 2);
    await d.rec.waitFor(isStatus({ state: 'connected' }), { what: 'second carol connected' });
    await d.sync.emitClientEvent('view.cell.select', { viewId: 9, rowId: 9 });
    const firstC = await c.rec.waitFor((x) => x.type === SOCKET, { from: fromC, what: 'org 2 event at carol' });
    assert.deepEqual(firstC.payload.data, { viewId: 9, rowId: 9, by: d.sync.socketId }, 'org 1\'s client events stay in org 1');
  });

  await t.test('refused client events reject with the reason', async () => {
    await assert.rejects(a.sync.emitClientEvent('not.in.the.list', { viewId: 1 }), { name: 'SyncError', code: 'undeclared' });
    await assert.rejects(a.sync.emitClientEvent('view.undeclared', { viewId: 1 }), { code: 'undeclared' }); // listed here, not at the gateway
    // Free text in a client event would leak content to the whole org: only IDs pass.
    await assert.rejects(a.sync.emitClientEvent('view.cell.select', { viewId: 1, rowId: '<b>hi</b>' }), { code: 'malformed' });
    await assert.rejects(a.sync.emitClientEvent('view.cell.select', { viewId: 1, rowId: 2, note: 'x' }), { code: 'malformed' });
    await assert.rejects(a.sync.joinRoom('admin'), { code: 'forbidden' });
  });

  await t.test('rooms are joined again after a reconnect that did not recover', async () => {
    assert.deepEqual(await b.sync.joinRoom('view:1'), { ok: true });
    const from = b.rec.actions.length;
    await a.sync.emitClientEvent('view.cursor', { viewId: 1, rowId: 5 });
    await b.rec.waitFor(isEvent('view.cursor', { rowId: 5 }), { from, what: 'the room event' });

    await gw.restart();
    for (const k of [a, b]) await k.rec.waitFor(isStatus({ state: 'connected', recovered: false }), { from, what: 'reconnected' });
    // Barrier: bob's re-subscribe went out on connect, before this event of his on the same
    // socket; once alice has it, the gateway has handled the subscribe.
    const fromA = a.rec.actions.length;
    await b.sync.emitClientEvent('view.cell.select', { viewId: 1, rowId: 1 });
    await a.rec.waitFor(isEvent('view.cell.select', { rowId: 1 }), { from: fromA, what: 'bob\'s event after the restart' });
    const again = b.rec.actions.length;
    await a.sync.emitClientEvent('view.cursor', { viewId: 1, rowId: 6 });
    const got = await b.rec.waitFor(isEvent('view.cursor'), { from: again, what: 'the room event after the restart' });
    assert.equal(got.payload.data.rowId, 6);
  });
});

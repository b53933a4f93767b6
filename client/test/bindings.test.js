// The TanStack Query and RTK Query bindings with the real packages against the real gateway
// in --demo mode: one refetch per event, a burst coalesced, resync refetches everything,
// unbind stops it; and the server's coalesced payloads (ID lists, scoped resync).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { configureStore } from '@reduxjs/toolkit';
import { createApi } from '@reduxjs/toolkit/query';

import { createSyncClient, expandIds } from '../src/index.js';
import { bindQueryClient } from '../src/tanstack.js';
import { bindRtkQuery } from '../src/rtk-query.js';
import { WAIT_MS, api, startGateway } from './harness.js';

const ROWS = '/orgs/1/people/views';
const COOKIE = 'demo_user=bob';

/** waitUntil resolves once cond() holds, checking on every turn of the event loop. */
async function waitUntil(cond, what) {
  const end = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

/** connected returns a sync client of alice in org 1, connected, with every event's arrival time. */
async function connected(t, gw) {
  const sync = createSyncClient({ url: gw.url, org: 1, socketOptions: { extraHeaders: { cookie: 'demo_user=alice' } } });
  t.after(() => sync.close());
  /** @type {{name: string, data: any, at: number}[]} */
  const events = [];
  sync.onEvent((name, data) => events.push({ name, data, at: performance.now() }));
  await waitUntil(() => sync.status.state === 'connected', 'connected');
  return { sync, events };
}

/** A fake sync client: the test emits the gateway's events itself. */
function fakeSync() {
  const ev = new Set();
  const rs = new Set();
  return {
    onEvent(fn) { ev.add(fn); return () => ev.delete(fn); },
    onResync(fn) { rs.add(fn); return () => rs.delete(fn); },
    emit(name, data) { for (const f of ev) f(name, data); },
    resync(r) { for (const f of rs) f(r); },
    listeners() { return ev.size + rs.size; },
  };
}

/** watch keeps a TanStack query active and records when its queryFn runs. */
function watch(t, qc, queryKey) {
  const calls = [];
  const obs = new QueryObserver(qc, {
    queryKey, staleTime: Infinity,
    queryFn: async () => { calls.push(performance.now()); return calls.length; },
  });
  t.after(obs.subscribe(() => {}));
  return calls;
}

const rowKeys = {
  'personview.addrow': (d) => [['rows', d.viewId], ['person', d.personId]],
  'personview.deleterow': (d) => [['rows', d.viewId], ['person', d.personId]],
};

test('TanStack Query', async (t) => {
  const gw = await startGateway(t, ['--demo']);

  await t.test('each event refetches its mapped keys exactly once', async (t) => {
    const { sync, events } = await connected(t, gw);
    const qc = new QueryClient();
    const rows1 = watch(t, qc, ['rows', 1]);
    const p4 = watch(t, qc, ['person', 4]);
    const p5 = watch(t, qc, ['person', 5]);
    const rows2 = watch(t, qc, ['rows', 2]);
    await waitUntil(() => rows1.length && p4.length && p5.length && rows2.length, 'first fetches');
    t.after(bindQueryClient(sync, qc, rowKeys));
    assert.equal(await api(gw.url, 'PUT', ROWS + '/1/rows/4', { cookie: COOKIE }), 200);
    await waitUntil(() => rows1.length === 2 && p4.length === 2, 'refetch of rows 1 and person 4');
    // Barrier: another event, other keys; once it refetched, the first window is long over.
    assert.equal(await api(gw.url, 'PUT', ROWS + '/2/rows/5', { cookie: COOKIE }), 200);
    await waitUntil(() => rows2.length === 2 && p5.length === 2, 'refetch of rows 2 and person 5');
    assert.deepEqual([rows1.length, p4.length, p5.length, rows2.length], [2, 2, 2, 2]);
    assert.equal(events.length, 2);
  });

  await t.test('a burst of 30 mutations refetches each key a few times, and once after the last event', async (t) => {
    const { sync, events } = await connected(t, gw);
    const qc = new QueryClient();
    const rows1 = watch(t, qc, ['rows', 1]);
    const rows2 = watch(t, qc, ['rows', 2]);
    await waitUntil(() => rows1.length && rows2.length, 'first fetches');
    t.after(bindQueryClient(sync, qc, rowKeys, { coalesceMs: 100 }));
    const start = performance.now();
    for (let i = 0; i < 30; i++) {
      const status = await api(gw.url, i % 2 ? 'DELETE' : 'PUT', ROWS + `/1/rows/${4 + (i >> 1) % 5}`, { cookie: COOKIE });
      assert.ok(status === 200 || status === 204, `mutation ${i}: ${status}`);
    }
    await waitUntil(() => events.length === 30, '30 events');
    const last = events[29].at;
    await waitUntil(() => rows1.at(-1) > last, 'a refetch after the last event');
    assert.equal(await api(gw.url, 'PUT', ROWS + '/2/rows/5', { cookie: COOKIE }), 200);
    await waitUntil(() => rows2.length === 2, 'barrier refetch');
    const refetches = rows1.length - 1;
    const windows = Math.ceil((last - start) / 100) + 1;
    t.diagnostic(`30 mutations in ${Math.round(last - start)} ms: ${refetches} refetches of ['rows', 1] (coalesceMs 100)`);
    assert.ok(refetches >= 1 && refetches <= windows && refetches < 30, `${refetches} refetches, want 1..${windows}`);
    assert.equal(rows1.filter((at) => at > last).length, 1, 'exactly one refetch after the last event');
  });

  await t.test('a resync (a gateway restart) refetches every query; unbind stops everything', async (t) => {
    const gw2 = await startGateway(t, ['--demo']);
    const { sync } = await connected(t, gw2);
    const qc = new QueryClient();
    const a = watch(t, qc, ['rows', 1]);
    const b = watch(t, qc, ['unmapped']);
    await waitUntil(() => a.length && b.length, 'first fetches');
    const unbind = bindQueryClient(sync, qc, rowKeys);
    const resyncs = [];
    sync.onResync((r) => resyncs.push(r));
    await gw2.restart();
    await waitUntil(() => a.length === 2 && b.length === 2, 'every query refetched');
    assert.deepEqual(resyncs, [{ org: '1', reason: 'reconnect' }]);
    unbind();
    unbind(); // twice is fine
    const events = [];
    sync.onEvent((n) => events.push(n));
    assert.equal(await api(gw2.url, 'PUT', ROWS + '/1/rows/4', { cookie: COOKIE }), 200);
    await waitUntil(() => events.length === 1, 'the event after unbind');
    // The binding's listeners are gone: nothing is pending, nothing can refetch.
    await new Promise((ok) => setTimeout(ok, 150));
    assert.deepEqual([a.length, b.length], [2, 2]);
  });
});

test('RTK Query', async (t) => {
  const gw = await startGateway(t, ['--demo']);

  /** store builds an RTK Query api over the demo API, counting fetches per endpoint and arg. */
  function store(t) {
    const fetches = {};
    const count = (k) => { fetches[k] = (fetches[k] || 0) + 1; };
    const rtk = createApi({
      keepUnusedDataFor: 0, // no 60 s timer keeping the test process alive
      baseQuery: async (path) => {
        count(path);
        const res = await fetch(gw.url + '/api' + path, { headers: { cookie: COOKIE } });
        return { data: await res.json() };
      },
      tagTypes: ['Rows', 'Person', 'Views'],
      endpoints: (b) => ({
        rows: b.query({ query: (view) => `/orgs/1/people/views/${view}/rows`, providesTags: (_r, _e, view) => [{ type: 'Rows', id: view }] }),
        views: b.query({ query: () => '/orgs/1/people/views' }), // no tags: only a resync refetches it
      }),
    });
    const s = configureStore({ reducer: { [rtk.reducerPath]: rtk.reducer }, middleware: (gdm) => gdm().concat(rtk.middleware) });
    const subs = [s.dispatch(rtk.endpoints.rows.initiate(1)), s.dispatch(rtk.endpoints.rows.initiate(2)), s.dispatch(rtk.endpoints.views.initiate())];
    t.after(() => {
      for (const sub of subs) sub.unsubscribe();
      s.dispatch(rtk.util.resetApiState());
    });
    return { rtk, s, fetches };
  }
  const tags = {
    'personview.addrow': (d) => [{ type: 'Rows', id: d.viewId }, { type: 'Person', id: d.personId }],
    'personview.deleterow': (d) => [{ type: 'Rows', id: d.viewId }],
  };
  const r1 = '/orgs/1/people/views/1/rows';
  const r2 = '/orgs/1/people/views/2/rows';
  const views = '/orgs/1/people/views';

  await t.test('each event invalidates its tags: one refetch; a burst a few; unbind stops it', async (t) => {
    const { sync, events } = await connected(t, gw);
    const { rtk, s, fetches } = store(t);
    await waitUntil(() => fetches[r1] === 1 && fetches[r2] === 1 && fetches[views] === 1, 'first fetches');
    const unbind = bindRtkQuery(sync, rtk, s.dispatch, tags);
    assert.equal(await api(gw.url, 'PUT', ROWS + '/1/rows/4', { cookie: COOKIE }), 200);
    await waitUntil(() => fetches[r1] === 2, 'refetch of view 1 rows');
    assert.equal(await api(gw.url, 'PUT', ROWS + '/2/rows/4', { cookie: COOKIE }), 200);
    await waitUntil(() => fetches[r2] === 2, 'barrier');
    assert.deepEqual([fetches[r1], fetches[views]], [2, 1]);

    for (let i = 0; i < 30; i++) {
      assert.equal(await api(gw.url, 'PUT', ROWS + `/1/rows/${1 + (i % 8)}`, { cookie: COOKIE }), 200);
    }
    await waitUntil(() => events.length === 32, '32 events');
    assert.equal(await api(gw.url, 'PUT', ROWS + '/2/rows/5', { cookie: COOKIE }), 200);
    await waitUntil(() => fetches[r2] === 3, 'barrier after the burst');
    const refetches = fetches[r1] - 2;
    t.diagnostic(`30 mutations: ${refetches} refetches of view 1's rows through invalidateTags`);
    assert.ok(refetches >= 1 && refetches < 30 / 3, `${refetches} refetches`);

    unbind();
    assert.equal(await api(gw.url, 'PUT', ROWS + '/2/rows/6', { cookie: COOKIE }), 200);
    await waitUntil(() => events.length === 34, 'the event after unbind');
    await new Promise((ok) => setTimeout(ok, 150));
    assert.equal(fetches[r2], 3, 'no refetch after unbind');
  });

  await t.test('a resync refetches every query of the api, tagged or not', async (t) => {
    const gw2 = await startGateway(t, ['--demo']);
    const { sync } = await connected(t, gw2);
    const { rtk, s, fetches } = store(t);
    await waitUntil(() => fetches[r1] === 1 && fetches[r2] === 1 && fetches[views] === 1, 'first fetches');
    t.after(bindRtkQuery(sync, rtk, s.dispatch, tags));
    await gw2.restart();
    await waitUntil(() => fetches[r1] === 2 && fetches[r2] === 2 && fetches[views] === 2, 'every query refetched');
  });
});

test('resyncSpreadMs: a whole resync refetches at a random point of the spread, per browser', async (t) => {
  const SPREAD = 300;
  const times = [];
  const unbinds = [];
  const start = performance.now();
  const syncs = [];
  for (let i = 0; i < 20; i++) {
    const sync = fakeSync();
    syncs.push(sync);
    const qc = { invalidateQueries: () => { times.push(performance.now() - start); return Promise.resolve(); } };
    unbinds.push(bindQueryClient(sync, qc, rowKeys, { coalesceMs: 0, resyncSpreadMs: SPREAD }));
  }
  for (const sync of syncs) sync.resync({ org: '1', reason: 'node lost' });
  assert.equal(times.length, 0, 'no browser refetches in the instant of the resync');
  // A scoped resync is not delayed.
  syncs[0].resync({ org: '1', reason: 'coalesced', event: 'personview.addrow' });
  assert.equal(times.length, 1, 'a scoped resync invalidates at once');
  times.length = 0;
  await waitUntil(() => times.length === 20, 'every browser refetched');
  const spread = Math.max(...times) - Math.min(...times);
  t.diagnostic(`20 browsers, resyncSpreadMs ${SPREAD}: refetches from ${Math.round(Math.min(...times))} to ${Math.round(Math.max(...times))} ms`);
  assert.ok(Math.max(...times) < SPREAD + 100, `a refetch came at ${Math.max(...times)} ms, past the spread`);
  assert.ok(spread > SPREAD / 10, `20 refetches within ${spread} ms: not spread`);
  // Unbinding cancels a resync still waiting for its turn.
  syncs[1].resync({ org: '1', reason: 'node lost' });
  unbinds[1]();
  await new Promise((ok) => setTimeout(ok, SPREAD + 50));
  assert.equal(times.length, 20, 'an unbound binding refetched after unbind');
  for (const u of unbinds) u();
  assert.throws(() => bindQueryClient(fakeSync(), { invalidateQueries() {} }, rowKeys, { resyncSpreadMs: -1 }), /resyncSpreadMs/);
});

test('coalesced payloads of the gateway: ID lists and the scoped resync', async (t) => {
  await t.test('expandIds', () => {
    assert.deepEqual(expandIds({ personId: [3, 4], viewId: 2 }), [{ personId: 3, viewId: 2 }, { personId: 4, viewId: 2 }]);
    assert.deepEqual(expandIds({ a: [1, 2], b: ['x', 'y'] }).length, 4);
    assert.deepEqual(expandIds({ id: 1, _meta: { version: 'v' } }), [{ id: 1, _meta: { version: 'v' } }]);
    assert.equal(expandIds({ a: Array.from({ length: 100 }, (_, i) => i), b: Array.from({ length: 11 }, (_, i) => i) }), null);
  });

  await t.test('a list-valued ID invalidates each key once; a scoped resync its scope or everything', async (t) => {
    const sync = fakeSync();
    const qc = new QueryClient();
    const spy = [];
    const orig = qc.invalidateQueries.bind(qc);
    qc.invalidateQueries = (f) => { spy.push(f ? f.queryKey : 'ALL'); return orig(f); };
    const unbind = bindQueryClient(sync, qc, rowKeys, { coalesceMs: 0, resyncScopes: { 'personview.deleterow': [['rows']] } });
    sync.emit('personview.addrow', { personId: [3, 4, 5], viewId: 2 });
    assert.deepEqual(spy, [['rows', 2], ['person', 3], ['person', 4], ['person', 5]]);
    spy.length = 0;
    sync.resync({ org: '1', reason: 'coalesced', event: 'personview.deleterow' });
    assert.deepEqual(spy, [['rows']]);
    spy.length = 0;
    sync.resync({ org: '1', reason: 'coalesced', event: 'personview.addrow' });
    assert.deepEqual(spy, ['ALL']);
    spy.length = 0;
    sync.emit('unmapped.event', { id: 1 });
    sync.emit('toString', { id: 1 });
    assert.deepEqual(spy, []);
    unbind();
    assert.equal(sync.listeners(), 0);
  });

  await t.test('RTK: a list payload becomes one invalidateTags with each tag', async () => {
    const sync = fakeSync();
    const dispatched = [];
    const fakeApi = { reducerPath: 'api', endpoints: {}, util: { invalidateTags: (tags) => ({ type: 'inv', tags }) } };
    const unbind = bindRtkQuery(sync, fakeApi, (a) => dispatched.push(a), { 'x.y': (d) => [{ type: 'P', id: d.id }, 'List'] }, { coalesceMs: 5 });
    sync.emit('x.y', { id: [1, 2] });
    sync.emit('x.y', { id: 2 });
    await waitUntil(() => dispatched.length === 1, 'one dispatch');
    assert.deepEqual(dispatched[0], { type: 'inv', tags: [{ type: 'P', id: 1 }, 'List', { type: 'P', id: 2 }] });
    unbind();
  });

  await t.test('a map that throws is a scoped resync, reported to onError', () => {
    const sync = fakeSync();
    const seen = [];
    const qc = { invalidateQueries: async (f) => { seen.push(f ? f.queryKey : 'ALL'); } };
    const errors = [];
    bindQueryClient(sync, qc, { bad: () => { throw new Error('boom'); } }, { coalesceMs: 0, onError: (e, n) => errors.push([e.message, n]) });
    sync.emit('bad', {});
    assert.deepEqual(seen, ['ALL']);
    assert.deepEqual(errors, [['boom', 'bad']]);
    assert.throws(() => bindQueryClient(sync, qc, { x: 'not a function' }), TypeError);
    assert.throws(() => bindQueryClient({}, qc, {}), TypeError);
  });
});

// Compiled by types.test.js with tsc --strict: the kit's types as an app uses them, with the
// real QueryClient and createApi. Each @ts-expect-error is a misuse that must not compile
// (tsc fails on a directive that has no error to expect).
import { QueryClient } from '@tanstack/query-core';
import { configureStore } from '@reduxjs/toolkit';
import { createApi, fakeBaseQuery } from '@reduxjs/toolkit/query';

import {
  SOCKET_RESYNC, connectionReducer, createSyncClient, isSocketEvent,
  type ConnectionStatus, type EventMeta, type ResyncInfo, type SyncClient,
} from '@syncgate/client';
import { bindQueryClient, type QueryKeyMap } from '@syncgate/client/tanstack';
import { bindRtkQuery, type TagMap } from '@syncgate/client/rtk-query';

const sync: SyncClient = createSyncClient({ url: 'http://127.0.0.1:1', org: 1 });
const s: ConnectionStatus = sync.status;
const state: 'connected' | 'reconnecting' | 'offline' = s.state;
sync.onResync((r: ResyncInfo) => r.event?.toUpperCase());
sync.onEvent((name, data) => { void name; void data; });
void state;
void SOCKET_RESYNC;
void connectionReducer(undefined, { type: 'x' });
const isRow = isSocketEvent('personview.addrow');
void isRow;

const qc = new QueryClient();
const keys: QueryKeyMap = {
  'personview.addrow': (d) => [['rows', d.viewId], ['person', d.personId]],
  'person.updated': (d) => {
    const meta = d._meta as EventMeta | undefined;
    return meta?.version === 'cached' ? [] : [['person', d.personId]];
  },
};
const unbind: () => void = bindQueryClient(sync, qc, keys, { coalesceMs: 50, resyncScopes: { 'personview.addrow': [['rows']] } });
unbind();

const api = createApi({
  baseQuery: fakeBaseQuery(),
  tagTypes: ['Rows'],
  endpoints: (b) => ({ rows: b.query<number[], number>({ queryFn: () => ({ data: [] }), providesTags: ['Rows'] }) }),
});
const store = configureStore({ reducer: { [api.reducerPath]: api.reducer }, middleware: (g) => g().concat(api.middleware) });
const tags: TagMap = { 'personview.addrow': (d) => [{ type: 'Rows', id: Number(d.viewId) }, 'Rows'] };
bindRtkQuery(sync, api, store.dispatch, tags)();

// Misuses.
// @ts-expect-error a map value must return a list of keys, not one key
bindQueryClient(sync, qc, { 'a.b': (d) => ['rows', d.viewId] });
// @ts-expect-error the query client comes second
bindQueryClient(qc, sync, keys);
// @ts-expect-error coalesceMs is a number
bindQueryClient(sync, qc, keys, { coalesceMs: '100' });
// @ts-expect-error RTK tags are strings or {type, id}
bindRtkQuery(sync, api, store.dispatch, { 'a.b': () => [42] });
// @ts-expect-error bindRtkQuery needs the store's dispatch
bindRtkQuery(sync, api, keys);
// @ts-expect-error a status has no state "gone"
const bad: ConnectionStatus['state'] = 'gone';
void bad;

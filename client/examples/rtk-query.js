// Recipe: RTK Query. Every syncgate event invalidates the tags it maps to.
// Run against the demo: `syncgate --demo` then `node examples/rtk-query.js http://127.0.0.1:8080`.
import { configureStore } from '@reduxjs/toolkit';
import { createApi, fetchBaseQuery } from '@reduxjs/toolkit/query'; // .../query/react in React
import { createSyncClient } from '@syncgate/client';
import { bindRtkQuery } from '@syncgate/client/rtk-query';

const url = process.argv[2] || 'http://127.0.0.1:8080';
const cookie = 'demo_user=alice';

const api = createApi({
  baseQuery: fetchBaseQuery({ baseUrl: url + '/api', prepareHeaders: (h) => { h.set('cookie', cookie); return h; } }),
  tagTypes: ['Rows'],
  endpoints: (b) => ({
    rows: b.query({
      query: ({ org, view }) => `/orgs/${org}/people/views/${view}/rows`,
      providesTags: (_res, _err, { view }) => [{ type: 'Rows', id: view }],
    }),
  }),
});
const store = configureStore({
  reducer: { [api.reducerPath]: api.reducer },
  middleware: (getDefault) => getDefault().concat(api.middleware),
});

// --- the recipe ---
const sync = createSyncClient({ url, org: 1, socketOptions: { extraHeaders: { cookie } } });
const unbind = bindRtkQuery(sync, api, store.dispatch, {
  'personview.addrow': (d) => [{ type: 'Rows', id: d.viewId }],
  'personview.deleterow': (d) => [{ type: 'Rows', id: d.viewId }],
});
// ---

// A subscribed query, as useRowsQuery({org: 1, view: 1}) would hold it.
const sub = store.dispatch(api.endpoints.rows.initiate({ org: 1, view: 1 }));
await sub;
const first = api.endpoints.rows.select({ org: 1, view: 1 })(store.getState()).fulfilledTimeStamp;
const refetched = new Promise((resolve) => store.subscribe(() => {
  const q = api.endpoints.rows.select({ org: 1, view: 1 })(store.getState());
  if (q.isSuccess && q.fulfilledTimeStamp > first) resolve(q.data);
}));
// The demo's part: once connected, someone else changes the view.
const connected = new Promise((resolve) => {
  if (sync.status.state === 'connected') resolve();
  sync.onStatus((s) => { if (s.state === 'connected') resolve(); });
});
await connected;
await fetch(url + '/api/orgs/1/people/views/1/rows/5', { method: 'PUT', headers: { cookie: 'demo_user=bob' } });
const data = await refetched;
console.log(`rtk-query: refetched view 1 after the event (${data.data.length} rows)`);
unbind();
sub.unsubscribe();
sync.close();
process.exit(0);

// Recipe: Redux (the Zetkin PoC's shape). The kit dispatches {type: "socket", payload:
// {name, data}} for every event; slices mark what is stale and the app refetches it.
// Run against the demo: `syncgate --demo` then `node examples/redux.js http://127.0.0.1:8080`.
import { configureStore, createSlice } from '@reduxjs/toolkit';
import { SOCKET_RESYNC, connectionReducer, createSyncClient, isSocketEvent } from '@syncgate/client';

const url = process.argv[2] || 'http://127.0.0.1:8080';
const cookie = 'demo_user=alice';

// --- the recipe ---
const views = createSlice({
  name: 'views',
  initialState: { staleViews: [] },
  reducers: { fetched: (s, a) => { s.staleViews = s.staleViews.filter((v) => v !== a.payload); } },
  extraReducers: (builder) => {
    builder.addCase(SOCKET_RESYNC, (s) => { s.staleViews = ['all']; });
    builder.addMatcher(isSocketEvent('personview.addrow', 'personview.deleterow'), (s, a) => {
      // A coalesced delivery lists IDs: {"personId": [3, 4], "viewId": 2}; viewId may be a list too.
      for (const v of [a.payload.data.viewId].flat()) if (!s.staleViews.includes(v)) s.staleViews.push(v);
    });
  },
});
let store;
const sync = createSyncClient({ dispatch: (a) => store.dispatch(a), url, socketOptions: { extraHeaders: { cookie } } });
store = configureStore({ reducer: { connection: connectionReducer, views: views.reducer } });
sync.switchOrg(1); // after the store exists: the kit dispatches at once
// ---

const stale = new Promise((resolve) => store.subscribe(() => {
  const v = store.getState().views.staleViews;
  if (v.includes(1)) resolve(v);
}));
// The demo's part: once connected, someone else changes the view.
const connected = new Promise((resolve) => {
  if (sync.status.state === 'connected') resolve();
  sync.onStatus((s) => { if (s.state === 'connected') resolve(); });
});
await connected;
await fetch(url + '/api/orgs/1/people/views/1/rows/6', { method: 'PUT', headers: { cookie: 'demo_user=bob' } });
const v = await stale;
console.log(`redux: view ${v[0]} marked stale by personview.addrow; connection ${store.getState().connection.state}`);
sync.close();
process.exit(0);

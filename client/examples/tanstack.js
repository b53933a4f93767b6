// Recipe: TanStack Query. Every syncgate event invalidates the query keys it maps to.
// Run against the demo: `syncgate --demo` then `node examples/tanstack.js http://127.0.0.1:8080`.
// (In Node the demo's login cookie is sent by hand; in a browser the page's cookies are.)
import { QueryClient, QueryObserver } from '@tanstack/query-core'; // or @tanstack/react-query
import { createSyncClient } from '@syncgate/client';
import { bindQueryClient } from '@syncgate/client/tanstack';

const url = process.argv[2] || 'http://127.0.0.1:8080';
const cookie = 'demo_user=alice';
const get = (path) => fetch(url + '/api' + path, { headers: { cookie } }).then((r) => r.json());

// --- the recipe ---
const queryClient = new QueryClient();
const sync = createSyncClient({ url, org: 1, socketOptions: { extraHeaders: { cookie } } });
const unbind = bindQueryClient(sync, queryClient, {
  'personview.addrow': (d) => [['views', d.viewId, 'rows']],
  'personview.deleterow': (d) => [['views', d.viewId, 'rows']],
  'person.updated': (d) => [['people', d.personId]],
}, { coalesceMs: 100 });
// ---

// A query as a component would have it (useQuery({queryKey, queryFn}) in React).
let fetches = 0;
const rows = new QueryObserver(queryClient, {
  queryKey: ['views', 1, 'rows'],
  queryFn: () => { fetches++; return get('/orgs/1/people/views/1/rows'); },
  staleTime: Infinity,
});
const done = new Promise((resolve) => rows.subscribe((r) => {
  if (r.isSuccess && !r.isFetching && fetches === 2) resolve(r.data);
}));
// The demo's part: once connected, someone else changes the view.
const connected = new Promise((resolve) => {
  if (sync.status.state === 'connected') resolve();
  sync.onStatus((s) => { if (s.state === 'connected') resolve(); });
});
await connected;
  // Someone else adds a row: the gateway fires personview.addrow {viewId: 1, personId: 4}.
await fetch(url + '/api/orgs/1/people/views/1/rows/4', { method: 'PUT', headers: { cookie: 'demo_user=bob' } });
const data = await done;
console.log(`tanstack: refetched view 1 after the event (${data.data.length} rows, ${fetches} fetches)`);
unbind();
sync.close();
process.exit(0);

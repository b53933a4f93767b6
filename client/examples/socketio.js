// Recipe: plain socket.io-client, without the kit. One socket per org namespace, with the
// page's cookies; the first argument of each event is its IDs (a second one, the gateway's
// recovery offset, is not data); `resync` means refetch everything (or, with `event`, what
// that event invalidates).
// Run against the demo: `syncgate --demo` then `node examples/socketio.js http://127.0.0.1:8080`.
import { io } from 'socket.io-client';

const url = process.argv[2] || 'http://127.0.0.1:8080';

// --- the recipe ---
const socket = io(url + '/org/1', {
  withCredentials: true, // a browser sends its cookies; Node needs extraHeaders:
  extraHeaders: { cookie: 'demo_user=alice' },
  transports: ['websocket', 'polling'],
});
socket.on('connect_error', (err) => console.error('refused:', err.message)); // unauthorized, forbidden...
socket.on('resync', (r) => console.log('refetch', r.event ? `what ${r.event} invalidates` : 'everything'));
const event = new Promise((resolve) => socket.on('personview.addrow', (ids) => resolve(ids)));
// ---

socket.on('connect', () => {
  fetch(url + '/api/orgs/1/people/views/1/rows/7', { method: 'PUT', headers: { cookie: 'demo_user=bob' } });
});
const ids = await event;
console.log(`socketio: personview.addrow ${JSON.stringify(ids)}`);
socket.close();
process.exit(0);

// syncgate demo page: log in as a demo user, pick an organization, edit view 1 and see the
// changes other windows make arrive over the Socket.IO namespace /org/{id}. Events carry IDs
// only, so every event just marks the list stale and the page re-fetches it through /api,
// where the API checks access on every request. Text from the API is only ever set with
// textContent, never parsed as HTML: names are typed in by users.
'use strict';

const VIEW_ID = 1;

const state = {
  org: null,        // selected organization ID (number) or null
  socket: null,     // the Socket.IO socket of that organization
  stale: false,     // the list must be fetched again
  refreshing: null, // promise of the running refresh loop
  own: new Map(),   // "addrow:3" → how many echoes of this window's own changes are due
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// api calls the REST API through the gateway and returns the "data" of its answer.
async function api(method, path) {
  const res = await fetch('/api' + path, { method, headers: { Accept: 'application/json' } });
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, (body && body.error) || res.statusText);
  return body.data;
}

// --- messages -------------------------------------------------------------------------

let noticeTimer = 0;

function showNotice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

function showError(err) {
  const el = $('error');
  el.hidden = !err;
  el.textContent = err ? 'Error: ' + (err.status ? err.status + ' ' : '') + err.message : '';
}

function setStatus(kind, detail) {
  const el = $('status');
  el.className = 'badge ' + kind;
  el.textContent = detail ? kind + ' — ' + detail : kind;
}

// --- login and organizations ------------------------------------------------------------

async function login(user) {
  const res = await fetch('/demo/login?user=' + encodeURIComponent(user), { method: 'POST' });
  if (!res.ok) {
    showError(new ApiError(res.status, 'login failed'));
    return;
  }
  await loadMemberships(true);
}

async function logout() {
  await fetch('/demo/logout', { method: 'POST' });
  await loadMemberships(true);
}

// loadMemberships shows the user's organizations; reconnect picks (and joins) one anew.
async function loadMemberships(reconnect) {
  let memberships;
  try {
    memberships = await api('GET', '/users/me/memberships');
  } catch (err) {
    memberships = [];
    if (err.status !== 401) showError(err);
  }
  $('who').textContent = memberships.length ? 'logged in as ' + memberships[0].profile.name : 'not logged in';
  renderOrgs(memberships);
  if (!reconnect) return;
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get('org'));
  const pick = memberships.find((m) => m.organization.id === wanted) ||
    memberships.find((m) => m.role !== null) || memberships[0];
  selectOrg(pick ? pick.organization.id : null);
}

function renderOrgs(memberships) {
  $('orgs').replaceChildren(...memberships.map((m) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = m.organization.title + ' (' + (m.role || 'follower') + ')';
    b.dataset.org = m.organization.id;
    b.setAttribute('aria-pressed', String(m.organization.id === state.org));
    b.addEventListener('click', () => selectOrg(m.organization.id));
    return b;
  }));
}

function selectOrg(org) {
  state.org = org;
  state.own.clear();
  showError(null);
  $('notice').hidden = true;
  for (const b of $('orgs').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(Number(b.dataset.org) === org));
  }
  history.replaceState(null, '', org ? '#org=' + org : location.pathname);
  connect(org);
  renderList(null);
  if (org) markStale();
}

// --- the view ---------------------------------------------------------------------------

// markStale asks for the list to be fetched again; events arriving during a fetch make the
// loop run once more, so the last answer is never older than the last event.
function markStale() {
  state.stale = true;
  if (!state.refreshing) {
    state.refreshing = (async () => {
      try {
        while (state.stale) {
          state.stale = false;
          await loadList();
        }
      } finally {
        state.refreshing = null;
      }
    })();
  }
  return state.refreshing;
}

async function loadList() {
  const org = state.org;
  if (!org) return;
  const base = '/orgs/' + org + '/people';
  try {
    const [view, rows, people] = await Promise.all([
      api('GET', base + '/views/' + VIEW_ID),
      api('GET', base + '/views/' + VIEW_ID + '/rows'),
      api('GET', base),
    ]);
    if (org !== state.org) return; // the user switched organizations meanwhile
    $('view-title').textContent = 'View ' + VIEW_ID + ': ' + view.title;
    renderList({ rows, people });
    showError(null);
  } catch (err) {
    if (org !== state.org) return;
    renderList(null);
    showError(err);
  }
}

function renderList(list) {
  if (!list) {
    $('view-title').textContent = 'View ' + VIEW_ID;
    $('rows').replaceChildren();
    $('others').replaceChildren();
    return;
  }
  const inView = new Set(list.rows.map((r) => r.id));
  $('rows').replaceChildren(...list.rows.map((r) =>
    item(r.content.join(' '), 'remove', () => changeRow('DELETE', 'deleterow', r.id))));
  $('others').replaceChildren(...list.people.filter((p) => !inView.has(p.id)).map((p) =>
    item(p.first_name + ' ' + p.last_name, 'add', () => changeRow('PUT', 'addrow', p.id))));
}

function item(text, action, onClick) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.textContent = text;
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = action;
  b.addEventListener('click', onClick);
  li.append(name, b);
  return li;
}

// changeRow adds (PUT) or removes (DELETE) a person of view 1. The gateway echoes the change
// to this window too; it is remembered first, because the echo may beat the answer.
async function changeRow(method, kind, personId) {
  const key = kind + ':' + personId;
  state.own.set(key, (state.own.get(key) || 0) + 1);
  try {
    await api(method, '/orgs/' + state.org + '/people/views/' + VIEW_ID + '/rows/' + personId);
  } catch (err) {
    takeOwn(key);
    showError(err);
  }
  markStale();
}

function takeOwn(key) {
  const n = state.own.get(key) || 0;
  if (n > 1) state.own.set(key, n - 1);
  else state.own.delete(key);
  return n > 0;
}

// --- the socket -------------------------------------------------------------------------

function connect(org) {
  if (state.socket) {
    state.socket.io.off();
    state.socket.off();
    state.socket.disconnect();
    state.socket = null;
  }
  if (!org) {
    setStatus('offline');
    return;
  }
  setStatus('reconnecting', 'connecting');
  // forceNew: a fresh Engine.IO handshake, so it carries the login cookie set just now.
  const socket = io('/org/' + org, { transports: ['websocket', 'polling'], forceNew: true });
  state.socket = socket;
  let connectedBefore = false;
  socket.on('connect', () => {
    setStatus('connected');
    if (connectedBefore) markStale(); // events sent while we were away are lost
    connectedBefore = true;
  });
  socket.on('disconnect', (reason) => setStatus(socket.active ? 'reconnecting' : 'offline', reason));
  socket.on('connect_error', (err) => setStatus(socket.active ? 'reconnecting' : 'offline', err.message));
  socket.io.on('reconnect_attempt', (n) => setStatus('reconnecting', 'attempt ' + n));
  socket.on('personview.addrow', (data) => onRowEvent('addrow', data));
  socket.on('personview.deleterow', (data) => onRowEvent('deleterow', data));
  socket.on('resync', () => {
    loadMemberships(false);
    markStale().then(() => showNotice('the server asked for a resync — everything refreshed'));
  });
}

// onRowEvent handles {viewId, personId}: refresh, and tell the user if another window did it.
function onRowEvent(kind, data) {
  if (!data || Number(data.viewId) !== VIEW_ID) return; // other views are not shown here
  const mine = takeOwn(kind + ':' + data.personId);
  markStale().then(() => {
    if (mine) return;
    showNotice((kind === 'addrow' ? 'row added' : 'row removed') + ' by another window — list refreshed');
  });
}

// --- start ------------------------------------------------------------------------------

for (const b of document.querySelectorAll('button[data-user]')) {
  b.addEventListener('click', () => login(b.dataset.user));
}
$('logout').addEventListener('click', logout);
loadMemberships(true);

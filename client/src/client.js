// createSyncClient: one Socket.IO connection to the gateway's namespace of the selected
// organization, turned into Redux actions.
import { io as defaultIo } from 'socket.io-client';

import { resyncAction, socketAction, SOCKET_STATUS } from './actions.js';
import { SyncError } from './errors.js';
import { CONNECTED, OFFLINE, RECONNECTING, initialStatus, sameStatus } from './status.js';

/** @typedef {import('./status.js').ConnectionStatus} ConnectionStatus */
/** @typedef {import('socket.io-client').Socket} Socket */
/**
 * @typedef {{org: string, reason: string, event?: string}} ResyncInfo a resync: of the whole
 *   org, or, with event, of what that one event invalidates
 */

/** The gateway's own events. */
const EVENT_RESYNC = 'resync';
const EVENT_REVOKED = 'revoked';
/** The resync reason the gateway gives when a reconnecting socket could not be recovered. */
const RECOVERY_FAILED = 'recovery failed';

/**
 * An org ID as the gateway accepts it in a namespace ({namespacePrefix}/{ID}): a slug, UUID or
 * number, [A-Za-z0-9_-]{1,64} (the gateway's --org-id-format integer accepts only canonical
 * decimals of these and refuses the rest with "Invalid namespace").
 */
const ORG_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A namespace prefix as the gateway's --namespace-prefix: "/org", "/team", "/w/orgs". */
const NSP_PREFIX = /^(\/[A-Za-z0-9_.~-]+)+$/;

/**
 * orgId checks an organization ID and returns it as the text of its namespace: a string of
 * [A-Za-z0-9_-]{1,64}, or a non-negative safe integer. Anything else is refused: the ID
 * becomes part of the namespace path.
 * @param {number|string} org
 * @returns {string}
 */
export function orgId(org) {
  const s = typeof org === 'number' && Number.isSafeInteger(org) && org >= 0 ? String(org) : org;
  if (typeof s !== 'string' || !ORG_ID.test(s)) {
    throw new TypeError(`syncgate: an org ID is [A-Za-z0-9_-]{1,64} or a non-negative integer, not ${JSON.stringify(org)}`);
  }
  return s;
}

/**
 * @typedef {object} SyncClientOptions
 * @property {(action: any) => unknown} [dispatch] the Redux store's dispatch; without one
 *   (TanStack Query, RTK Query bindings, plain listeners) the kit only calls its listeners
 * @property {string} [url] origin of the gateway, e.g. "https://sync.example.org"; "" (the
 *   default) is the page's own origin
 * @property {number|string|null} [org] organization to join at once
 * @property {string} [namespacePrefix] the gateway's --namespace-prefix (default "/org")
 * @property {readonly string[]} [clientEvents] the client events the gateway declares;
 *   emitClientEvent refuses other names without sending them
 * @property {Record<string, any>} [socketOptions] more socket.io-client options: `auth`
 *   ({token}), `path`, `extraHeaders` (Node only)...; `forceNew` and `autoConnect` are the kit's
 * @property {number} [ackTimeout] how long emitClientEvent and joinRoom wait for the gateway's
 *   answer, in ms (default 5000)
 * @property {{min: number, max: number}} [retryDelay] backoff of the kit's own retries after
 *   connect_error "unavailable" (the gateway could not check memberships), in ms
 *   (default {min: 1000, max: 30000})
 * @property {typeof defaultIo} [io] the socket.io-client `io` function (for another copy of it)
 */

/**
 * @typedef {object} Conn one connection to one org's namespace
 * @property {string} org
 * @property {Socket} socket
 * @property {boolean} everConnected a later connect is a reconnect
 * @property {boolean} resynced this connection already dispatched a resync
 * @property {string|null} revoked the reason of a `revoked` event
 * @property {number} retries kit retries after "unavailable" since the last connect
 * @property {ReturnType<typeof setTimeout>|null} timer
 */

/**
 * createSyncClient connects a Redux store to syncgate. It dispatches
 * - `{type: "socket", payload: {name, data}}` for every event of the org's namespace (data is
 *   the event's first argument: the recovery offset the gateway appends is not data);
 * - `{type: "socket/resync", payload: {org, reason}}` when the gateway asks for a resync or a
 *   reconnect did not recover the missed events: everything cached for the org is stale;
 * - `{type: "socket/status", payload: ConnectionStatus}` when the connection status changes.
 *
 * The socket connects with the browser's cookies (withCredentials) to `{url}/org/{org}`,
 * websocket first, then long-polling.
 * @param {SyncClientOptions} options
 */
export function createSyncClient(options) {
  const {
    dispatch, url = '', clientEvents, socketOptions = {}, ackTimeout = 5000,
    retryDelay = { min: 1000, max: 30000 }, io = defaultIo, namespacePrefix: prefix = '/org',
  } = options || /** @type {any} */ ({});
  if (typeof prefix !== 'string' || !NSP_PREFIX.test(prefix)) throw new TypeError(`syncgate: options.namespacePrefix must look like "/org", not ${JSON.stringify(prefix)}`);
  if (dispatch !== undefined && typeof dispatch !== 'function') throw new TypeError('syncgate: options.dispatch must be a function');
  const send = dispatch || (() => {});
  const declared = clientEvents ? new Set(clientEvents) : null;

  /** @type {ConnectionStatus} */
  let status = initialStatus;
  /** @type {Set<(s: ConnectionStatus) => void>} */
  const listeners = new Set();
  /** @type {Set<(name: string, data: unknown) => void>} */
  const eventListeners = new Set();
  /** @type {Set<(r: ResyncInfo) => void>} */
  const resyncListeners = new Set();

  /**
   * emitResync tells Redux and the resync listeners that cached data is stale.
   * @param {string} org
   * @param {string} reason
   * @param {string} [event] set for a resync scoped to one event (a burst the gateway
   *   coalesced past its cap, or an event whose IDs it could not read)
   */
  function emitResync(org, reason, event) {
    send(resyncAction(org, reason, event));
    /** @type {ResyncInfo} */
    const info = event ? { org, reason, event } : { org, reason };
    for (const l of [...resyncListeners]) l(info);
  }
  /** @type {Conn|null} */
  let conn = null;
  /** Rooms of the current org, joined again after every connect that was not recovered. */
  const rooms = new Set();

  /**
   * @param {string|null} org
   * @param {ConnectionStatus['state']} state
   * @param {string|null} reason
   * @param {{retrying?: boolean, detail?: string|null, recovered?: boolean}} [more]
   */
  function setStatus(org, state, reason, more = {}) {
    /** @type {ConnectionStatus} */
    const next = Object.freeze({
      state, org, reason, detail: more.detail ?? null,
      retrying: more.retrying ?? false, recovered: more.recovered ?? false,
    });
    if (sameStatus(status, next)) return;
    status = next;
    send({ type: SOCKET_STATUS, payload: next });
    for (const l of [...listeners]) l(next);
  }

  /** @param {Conn} c */
  function clearRetry(c) {
    if (c.timer !== null) clearTimeout(c.timer);
    c.timer = null;
  }

  /**
   * open connects to org's namespace with a fresh Engine.IO handshake (so it carries the
   * cookies of now, e.g. just after a login).
   * @param {string} org
   */
  function open(org) {
    const socket = io(url + prefix + '/' + org, {
      transports: ['websocket', 'polling'],
      withCredentials: true,
      ...socketOptions,
      forceNew: true,
      autoConnect: false,
    });
    /** @type {Conn} */
    const c = { org, socket, everConnected: false, resynced: false, revoked: null, retries: 0, timer: null };
    conn = c;
    const live = () => conn === c;

    socket.onAny((name, ...args) => {
      if (!live()) return;
      const data = args[0];
      send(socketAction(name, data));
      if (name === EVENT_REVOKED) {
        c.revoked = reasonOf(data) || 'revoked';
      } else if (name === EVENT_RESYNC) {
        const reason = reasonOf(data) || EVENT_RESYNC;
        const event = eventOf(data);
        if (event) {
          emitResync(org, reason, event);
        } else if (!(c.resynced && reason === RECOVERY_FAILED)) {
          // A reconnect that was not recovered has just dispatched its resync; the
          // gateway's own "recovery failed" says the same thing again.
          c.resynced = true;
          emitResync(org, reason);
        }
      } else {
        for (const l of [...eventListeners]) l(name, data);
      }
    });

    socket.on('connect', () => {
      if (!live()) return;
      clearRetry(c);
      c.retries = 0;
      const recovered = Boolean(socket.recovered);
      setStatus(org, CONNECTED, null, { recovered });
      if (c.everConnected && !recovered) {
        c.resynced = true;
        emitResync(org, 'reconnect');
      }
      c.everConnected = true;
      if (!recovered) {
        for (const room of rooms) {
          subscribe(c, room).catch(() => rooms.delete(room));
        }
      }
    });

    socket.on('disconnect', (reason) => {
      if (!live()) return;
      c.resynced = false;
      if (c.revoked !== null) {
        setStatus(org, OFFLINE, EVENT_REVOKED, { detail: c.revoked });
      } else if (socket.active) {
        setStatus(org, RECONNECTING, reason, { retrying: true });
      } else {
        setStatus(org, OFFLINE, reason);
      }
    });

    socket.on('connect_error', (err) => {
      if (!live()) return;
      const reason = (err && err.message) || 'connect_error';
      if (socket.active) {
        // socket.io-client keeps trying (the gateway is unreachable).
        setStatus(org, OFFLINE, reason, { retrying: true });
      } else if (reason === 'unavailable') {
        // The gateway could not check memberships (its upstream is down): it fails closed,
        // and the socket will be admitted once the upstream is back.
        scheduleRetry(c);
        setStatus(org, OFFLINE, reason, { retrying: true });
      } else {
        // "unauthorized", "forbidden", "Invalid namespace": retrying cannot help.
        setStatus(org, OFFLINE, reason);
      }
    });

    socket.io.on('reconnect_failed', () => {
      if (live()) setStatus(org, OFFLINE, status.reason || 'reconnect failed');
    });

    setStatus(org, RECONNECTING, 'connecting', { retrying: true });
    socket.connect();
  }

  /** @param {Conn} c */
  function scheduleRetry(c) {
    clearRetry(c);
    const base = Math.min(retryDelay.max, retryDelay.min * 2 ** Math.min(c.retries, 16));
    c.retries++;
    c.timer = setTimeout(() => {
      c.timer = null;
      if (conn === c) c.socket.connect();
    }, base * (0.5 + Math.random() / 2));
  }

  function teardown() {
    const c = conn;
    if (!c) return;
    conn = null;
    clearRetry(c);
    c.socket.offAny();
    c.socket.off();
    c.socket.io.off('reconnect_failed');
    c.socket.disconnect();
  }

  /**
   * @param {Conn} c
   * @param {string} room
   */
  function subscribe(c, room) {
    return request(c, 'subscribe', room);
  }

  /**
   * request emits name with payload and resolves with the gateway's {ok: true} answer.
   * @param {Conn|null} c
   * @param {string} name
   * @param {unknown} payload
   * @returns {Promise<Record<string, any>>}
   */
  async function request(c, name, payload) {
    if (!c || !c.socket.connected) throw new SyncError('offline', `syncgate: not connected (${name})`);
    let ack;
    try {
      ack = await c.socket.timeout(ackTimeout).emitWithAck(name, payload);
    } catch {
      throw new SyncError('timeout', `syncgate: no answer to ${name} within ${ackTimeout} ms`);
    }
    if (!ack || ack.ok !== true) {
      const code = ack && typeof ack.error === 'string' ? ack.error : 'malformed';
      throw new SyncError(code, `syncgate: ${name} refused: ${code}`);
    }
    return ack;
  }

  const client = {
    /** The current connection status. */
    get status() { return status; },

    /** The org whose namespace the client is joined to (or joining), or null. */
    get org() { return conn ? conn.org : null; },

    /** The socket's ID while connected, else null. */
    get socketId() { return conn && conn.socket.connected ? conn.socket.id ?? null : null; },

    /**
     * originHeaders returns {"X-Socket-ID": id} while connected: sent with an API call, it
     * makes the gateway skip this socket when the call fires events (the app already knows).
     * @returns {Record<string, string>}
     */
    originHeaders() {
      const id = client.socketId;
      return id ? { 'X-Socket-ID': id } : {};
    },

    /**
     * onStatus calls fn on every status change; it returns a function that stops that.
     * @param {(s: ConnectionStatus) => void} fn
     */
    onStatus(fn) {
      listeners.add(fn);
      return () => { listeners.delete(fn); };
    },

    /**
     * onEvent calls fn(name, data) for every event of the joined org's namespace except the
     * gateway's own (resync, revoked); it returns a function that stops that.
     * @param {(name: string, data: unknown) => void} fn
     */
    onEvent(fn) {
      eventListeners.add(fn);
      return () => { eventListeners.delete(fn); };
    },

    /**
     * onResync calls fn({org, reason, event?}) when cached data may be stale: of the whole
     * org, or, with `event`, of what that event invalidates. It returns a function that
     * stops that.
     * @param {(r: ResyncInfo) => void} fn
     */
    onResync(fn) {
      resyncListeners.add(fn);
      return () => { resyncListeners.delete(fn); };
    },

    /**
     * switchOrg leaves the current org's namespace (its events stop at once) and joins org's;
     * null just leaves. Switching to the org already joined (or being joined) does nothing;
     * use reconnect() after a login.
     * @param {number|string|null} org
     */
    switchOrg(org) {
      const next = org === null || org === undefined ? null : orgId(org);
      if (conn && conn.org === next && (status.state !== OFFLINE || status.retrying)) return;
      teardown();
      rooms.clear();
      if (next === null) {
        setStatus(null, OFFLINE, 'closed');
        return;
      }
      open(next);
    },

    /**
     * reconnect connects to the current org again with a fresh handshake: call it after a
     * login or logout, since a socket keeps the credentials it was admitted with.
     */
    reconnect() {
      const c = conn;
      if (!c) return;
      teardown();
      open(c.org);
    },

    /**
     * emitClientEvent sends a client event the gateway declares (client_events in its trigger
     * file) to the rest of the org; it resolves with the gateway's answer {ok: true} and
     * rejects with a SyncError ("offline", "undeclared", "malformed", "timeout"...).
     * @param {string} name
     * @param {Record<string, string|number>} payload IDs only, as declared
     */
    emitClientEvent(name, payload) {
      if (declared && !declared.has(name)) {
        return Promise.reject(new SyncError('undeclared', `syncgate: ${JSON.stringify(name)} is not a declared client event`));
      }
      return request(conn, name, payload);
    },

    /**
     * joinRoom subscribes to a declared room (e.g. "view:2") of the current org, now if
     * connected and again after every reconnect that did not recover. It rejects (and forgets
     * the room) if the gateway refuses it.
     * @param {string} room
     */
    async joinRoom(room) {
      if (typeof room !== 'string' || room === '') throw new TypeError('syncgate: a room is a non-empty string');
      rooms.add(room);
      if (!conn || !conn.socket.connected) return { ok: true, queued: true };
      try {
        return await subscribe(conn, room);
      } catch (err) {
        rooms.delete(room);
        throw err;
      }
    },

    /**
     * leaveRoom unsubscribes from a room.
     * @param {string} room
     */
    async leaveRoom(room) {
      rooms.delete(room);
      if (!conn || !conn.socket.connected) return { ok: true, queued: true };
      return request(conn, 'unsubscribe', room);
    },

    /** close leaves the org for good; status becomes offline "closed". */
    close() {
      teardown();
      rooms.clear();
      setStatus(null, OFFLINE, 'closed');
    },
  };

  if (options.org !== undefined && options.org !== null) client.switchOrg(options.org);
  return client;
}

/**
 * @param {unknown} data
 * @returns {string}
 */
function eventOf(data) {
  const e = data && typeof data === 'object' ? /** @type {any} */ (data).event : undefined;
  return typeof e === 'string' ? e : '';
}

/**
 * @param {unknown} data
 * @returns {string}
 */
function reasonOf(data) {
  const r = data && typeof data === 'object' ? /** @type {any} */ (data).reason : undefined;
  return typeof r === 'string' ? r : '';
}

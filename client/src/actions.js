// The Redux actions the kit dispatches. `socket` is the Zetkin proof of concept's action, so
// its reducers work unchanged; the others are the kit's own.

/** Every event the gateway sends: `{type: "socket", payload: {name, data}}`. */
export const SOCKET = 'socket';
/** The app must treat everything it cached for the org as stale and fetch it again. */
export const SOCKET_RESYNC = 'socket/resync';
/** The connection status changed; the payload is a {@link import('./status.js').ConnectionStatus}. */
export const SOCKET_STATUS = 'socket/status';

/**
 * @typedef {{type: 'socket', payload: {name: string, data: unknown}}} SocketAction
 * @typedef {{type: 'socket/resync', payload: {org: string, reason: string, event?: string}}} ResyncAction
 */

/**
 * socketAction is the PoC's action for one server event.
 * @param {string} name
 * @param {unknown} data the event's first argument (IDs only, e.g. {viewId: 1, personId: 3})
 * @returns {SocketAction}
 */
export function socketAction(name, data) {
  return { type: SOCKET, payload: { name, data } };
}

/**
 * resyncAction tells the app that events may have been missed in org.
 * @param {string} org
 * @param {string} reason "reconnect" (a reconnect that did not recover) or the server's reason
 * @param {string} [event] the one event whose data is stale (a scoped resync: the gateway
 *   coalesced a burst of it past its cap, reason "coalesced"); absent: everything is
 * @returns {ResyncAction}
 */
export function resyncAction(org, reason, event) {
  return { type: SOCKET_RESYNC, payload: event ? { org, reason, event } : { org, reason } };
}

/**
 * isSocketEvent returns a predicate that matches the `socket` actions of the named events (of
 * every event when no name is given), for Redux Toolkit's `builder.addMatcher`.
 * @param {...string} names
 * @returns {(action: unknown) => action is SocketAction}
 */
export function isSocketEvent(...names) {
  const wanted = new Set(names);
  return /** @type {(action: unknown) => action is SocketAction} */ ((action) => {
    const a = /** @type {any} */ (action);
    return a !== null && typeof a === 'object' && a.type === SOCKET &&
      a.payload !== null && typeof a.payload === 'object' &&
      (wanted.size === 0 || wanted.has(a.payload.name));
  });
}

// The connection status the kit exposes, and a reducer that keeps it in the Redux store.
import { SOCKET_STATUS } from './actions.js';

/** The socket is joined to its org's namespace: events arrive. */
export const CONNECTED = 'connected';
/**
 * Not connected, and trying: the first connect of an org, or a reconnect after the
 * connection dropped, before any attempt has failed.
 */
export const RECONNECTING = 'reconnecting';
/**
 * Not connected, and the last attempt failed (the gateway is unreachable or refused the
 * socket), or no org is selected. `retrying` says whether the kit keeps trying by itself.
 */
export const OFFLINE = 'offline';

/**
 * @typedef {object} ConnectionStatus
 * @property {'connected'|'reconnecting'|'offline'} state
 * @property {string|null} org the org of the namespace, as a decimal string; null when none
 * @property {string|null} reason why not connected: a connect_error message ("unauthorized",
 *   "forbidden", "unavailable", "websocket error"...), a disconnect reason ("transport close",
 *   "ping timeout"...), "revoked", "connecting", "closed"; null when connected
 * @property {string|null} detail more about reason: the revoked event's reason ("forbidden",
 *   "unauthorized"); else null
 * @property {boolean} retrying whether the kit will connect again by itself
 * @property {boolean} recovered connected, and the missed events were replayed (no resync needed)
 */

/** @type {ConnectionStatus} */
export const initialStatus = Object.freeze({
  state: OFFLINE, org: null, reason: 'closed', detail: null, retrying: false, recovered: false,
});

/**
 * connectionReducer keeps the last {@link ConnectionStatus} (for combineReducers).
 * @param {ConnectionStatus} [state]
 * @param {{type: string, payload?: any}} action
 * @returns {ConnectionStatus}
 */
export function connectionReducer(state = initialStatus, action) {
  return action.type === SOCKET_STATUS ? action.payload : state;
}

/**
 * sameStatus reports whether two statuses would render the same.
 * @param {ConnectionStatus} a
 * @param {ConnectionStatus} b
 */
export function sameStatus(a, b) {
  return a.state === b.state && a.org === b.org && a.reason === b.reason && a.detail === b.detail &&
    a.retrying === b.retrying && a.recovered === b.recovered;
}

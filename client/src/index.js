// @syncgate/client: connect a Socket.IO + Redux app to syncgate.
export { SOCKET, SOCKET_RESYNC, SOCKET_STATUS, isSocketEvent, resyncAction, socketAction } from './actions.js';
export { CONNECTED, OFFLINE, RECONNECTING, connectionReducer, initialStatus } from './status.js';
export { SyncError } from './errors.js';
export { createSyncClient, orgId } from './client.js';

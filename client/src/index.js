// @syncgate/client: connect a Socket.IO app (Redux, TanStack Query, RTK Query) to syncgate.
export { SOCKET, SOCKET_RESYNC, SOCKET_STATUS, isSocketEvent, resyncAction, socketAction } from './actions.js';
export { CONNECTED, OFFLINE, RECONNECTING, connectionReducer, initialStatus } from './status.js';
export { SyncError } from './errors.js';
export { createSyncClient, orgId } from './client.js';
export { MAX_EXPANSION, META_KEY, expandIds } from './bind.js';

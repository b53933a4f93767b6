// @syncgate/client/rtk-query: syncgate events invalidate RTK Query tags.
import { bind } from './bind.js';

/**
 * @typedef {string | {type: string, id?: string | number}} TagDescription
 */

/**
 * bindRtkQuery dispatches api.util.invalidateTags(tags) with the tags map gives for each
 * event (`map[name](data)`), coalesced like bindQueryClient: a burst invalidates each tag at
 * most once per options.coalesceMs (default 100), and always once after the last event; a
 * payload with ID lists calls map once per ID. On a resync every query in the api's cache
 * refetches; a resync scoped to one event invalidates options.resyncScopes[event], else
 * refetches everything too. `dispatch` is the store's (with its thunk middleware, as
 * configureStore sets up). Returns the unbind function.
 * @param {import('./bind.js').BindSource} sync a client of createSyncClient
 * @param {any} api the createApi result
 * @param {(action: any) => any} dispatch
 * @param {Record<string, (data: any) => readonly TagDescription[]>} map
 * @param {import('./bind.js').BindOptions<TagDescription>} [options]
 * @returns {() => void}
 */
export function bindRtkQuery(sync, api, dispatch, map, options = {}) {
  if (!api || !api.util || typeof api.util.invalidateTags !== 'function' || typeof api.reducerPath !== 'string') {
    throw new TypeError('syncgate: api must be an RTK Query api (createApi)');
  }
  if (typeof dispatch !== 'function') throw new TypeError('syncgate: dispatch must be the store\'s dispatch');
  return bind(sync, map, options, {
    invalidate(tags) {
      dispatch(api.util.invalidateTags(tags));
    },
    invalidateAll() {
      dispatch(refetchAll(api));
    },
  });
}

/**
 * refetchAll is a thunk that refetches every query the api holds (status other than
 * uninitialized), with its original arguments.
 * @param {any} api
 */
export function refetchAll(api) {
  return (/** @type {(a: any) => any} */ dispatch, /** @type {() => any} */ getState) => {
    const queries = getState()?.[api.reducerPath]?.queries || {};
    for (const q of Object.values(queries)) {
      if (!q || q.status === 'uninitialized' || !q.endpointName) continue;
      const endpoint = api.endpoints[q.endpointName];
      if (!endpoint || typeof endpoint.initiate !== 'function') continue;
      dispatch(endpoint.initiate(q.originalArgs, { subscribe: false, forceRefetch: true }));
    }
  };
}

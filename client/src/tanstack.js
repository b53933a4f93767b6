// @syncgate/client/tanstack: syncgate events invalidate TanStack Query keys.
import { bind } from './bind.js';

/**
 * @typedef {readonly unknown[]} QueryKey
 * @typedef {{invalidateQueries: (filters?: {queryKey?: QueryKey}) => Promise<unknown>}} QueryClientLike
 */

/**
 * bindQueryClient invalidates the query keys map gives for each event: `map[name](data)`
 * returns the keys (prefixes, as invalidateQueries matches them) that event makes stale.
 * A payload with ID lists (a burst the gateway coalesced) calls map once per ID. Keys are
 * coalesced over options.coalesceMs (default 100): a burst invalidates each key at most once
 * per window, and always once after the last event. A resync invalidates every query; a
 * resync scoped to one event invalidates options.resyncScopes[event], else every query.
 * Returns the unbind function.
 * @param {import('./bind.js').BindSource} sync a client of createSyncClient
 * @param {QueryClientLike} queryClient
 * @param {Record<string, (data: any) => readonly QueryKey[]>} map
 * @param {import('./bind.js').BindOptions<QueryKey>} [options]
 * @returns {() => void}
 */
export function bindQueryClient(sync, queryClient, map, options = {}) {
  if (!queryClient || typeof queryClient.invalidateQueries !== 'function') {
    throw new TypeError('syncgate: queryClient must be a TanStack QueryClient');
  }
  const settle = (/** @type {Promise<unknown>} */ p) => { p.catch(() => {}); };
  return bind(sync, map, options, {
    invalidate(keys) {
      for (const queryKey of keys) settle(queryClient.invalidateQueries({ queryKey }));
    },
    invalidateAll() {
      settle(queryClient.invalidateQueries());
    },
  });
}

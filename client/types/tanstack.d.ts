// Types of @syncgate/client/tanstack.
import type { BindOptions, BindSource, EventData } from './index.js';

export type QueryKey = readonly unknown[];

/** What bindQueryClient uses of a TanStack QueryClient (any v4/v5 QueryClient fits). */
export interface QueryClientLike {
  invalidateQueries(filters?: { queryKey?: QueryKey }): Promise<unknown>;
}

/** Per event name: the query keys (prefixes) one event makes stale. */
export type QueryKeyMap = Record<string, (data: EventData) => readonly QueryKey[]>;

export declare function bindQueryClient(
  sync: BindSource,
  queryClient: QueryClientLike,
  map: QueryKeyMap,
  options?: BindOptions<QueryKey>,
): () => void;

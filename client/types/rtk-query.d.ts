// Types of @syncgate/client/rtk-query.
import type { BindOptions, BindSource, EventData } from './index.js';

/** An RTK Query tag: "Person" or {type: "Person", id: 3}. */
export type TagDescription = string | { type: string; id?: string | number };

/** What bindRtkQuery uses of a createApi result (any RTK Query api fits). */
export interface RtkApiLike {
  reducerPath: string;
  util: { invalidateTags(tags: any[]): any };
  endpoints: Record<string, any>;
}

/** Per event name: the tags one event makes stale. */
export type TagMap = Record<string, (data: EventData) => readonly TagDescription[]>;

export declare function bindRtkQuery(
  sync: BindSource,
  api: RtkApiLike,
  dispatch: (action: any) => any,
  map: TagMap,
  options?: BindOptions<TagDescription>,
): () => void;

/** A thunk that refetches every query the api's cache holds. */
export declare function refetchAll(api: RtkApiLike): (dispatch: (action: any) => any, getState: () => any) => void;

// The engine of the cache bindings (tanstack.js, rtk-query.js): events → keys through the
// app's map, keys coalesced per window, resyncs → everything (or an event's scope).

/** The payload key of an event's metadata (version_from, request ID, ETag); not an ID. */
export const META_KEY = '_meta';

/**
 * Most records a payload with ID lists expands to. The gateway's coalesce: sends
 * {"personId": [3, 4, 5], "viewId": 2}; several list fields expand to every combination,
 * and past this many the event is handled like a resync scoped to it.
 */
export const MAX_EXPANSION = 1000;

/**
 * expandIds turns a payload whose ID fields may be lists into the plain payloads it stands
 * for: {"personId": [3, 4], "viewId": 2} → [{personId: 3, viewId: 2}, {personId: 4, viewId: 2}].
 * Several list fields give every combination (more than the events were, never fewer).
 * null when that would exceed MAX_EXPANSION.
 * @param {unknown} data
 * @returns {Record<string, unknown>[] | null}
 */
export function expandIds(data) {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return [/** @type {any} */ (data)];
  /** @type {Record<string, unknown>[]} */
  let out = [{}];
  for (const [k, v] of Object.entries(data)) {
    if (k === META_KEY || !Array.isArray(v)) {
      for (const r of out) r[k] = v;
      continue;
    }
    if (v.length === 0) return [];
    if (out.length * v.length > MAX_EXPANSION) return null;
    out = out.flatMap((r) => v.map((id) => ({ ...r, [k]: id })));
  }
  return out;
}

/**
 * stableKey is a key's identity: JSON with object keys sorted (as TanStack Query hashes
 * query keys), so ['a', {x: 1, y: 2}] and ['a', {y: 2, x: 1}] are one key.
 * @param {unknown} value
 * @returns {string}
 */
export function stableKey(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v));
}

/**
 * @template K
 * @typedef {object} Target what a binding does with the keys
 * @property {(keys: K[]) => void} invalidate invalidate these keys (deduplicated)
 * @property {() => void} invalidateAll refetch everything the cache holds
 */

/**
 * @template K
 * @typedef {object} BindOptions
 * @property {number} [coalesceMs] window in ms (default 100): each key is invalidated at
 *   most once per window, and always once after the last event; 0: at once, per event
 * @property {number} [resyncSpreadMs] a whole resync invalidates everything after a random
 *   delay below this (default 0: at once), so that browsers told at the same moment (a node
 *   lost) do not all refetch at the same moment
 * @property {Record<string, K[]>} [resyncScopes] keys to invalidate for a resync scoped to
 *   one event (reason "coalesced" or "event incomplete"); an event not listed invalidates
 *   everything
 * @property {(err: unknown, name: string) => void} [onError] a map function threw (the event
 *   is then handled like a resync scoped to it)
 */

/**
 * @typedef {{onEvent: (fn: (name: string, data: unknown) => void) => () => void,
 *            onResync: (fn: (r: {org: string, reason: string, event?: string}) => void) => () => void}} BindSource
 */

/**
 * bind wires a sync client (anything with onEvent and onResync) to a target; it returns
 * the unbind function.
 * @template K
 * @param {BindSource} sync
 * @param {Record<string, (data: any) => readonly K[]>} map
 * @param {BindOptions<K>} options
 * @param {Target<K>} target
 * @returns {() => void}
 */
export function bind(sync, map, options, target) {
  if (!sync || typeof sync.onEvent !== 'function' || typeof sync.onResync !== 'function') {
    throw new TypeError('syncgate: the first argument must be a sync client (createSyncClient)');
  }
  if (!map || typeof map !== 'object') throw new TypeError('syncgate: map must be {eventName: (data) => keys}');
  for (const [name, fn] of Object.entries(map)) {
    if (typeof fn !== 'function') throw new TypeError(`syncgate: map[${JSON.stringify(name)}] is not a function`);
  }
  const coalesceMs = options.coalesceMs ?? 100;
  if (!(Number.isFinite(coalesceMs) && coalesceMs >= 0)) throw new TypeError('syncgate: coalesceMs must be a number >= 0');
  const scopes = options.resyncScopes || {};
  const spreadMs = options.resyncSpreadMs ?? 0;
  if (!(Number.isFinite(spreadMs) && spreadMs >= 0)) throw new TypeError('syncgate: resyncSpreadMs must be a number >= 0');
  /** @type {Set<ReturnType<typeof setTimeout>>} whole resyncs waiting for their turn */
  const spreading = new Set();

  /** @type {Map<string, K>} keys waiting for the end of the window */
  const pending = new Map();
  let all = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let bound = true;

  function flush() {
    timer = null;
    if (!bound) return;
    const keys = [...pending.values()];
    const everything = all;
    pending.clear();
    all = false;
    if (everything) target.invalidateAll();
    else if (keys.length > 0) target.invalidate(keys);
  }

  function schedule() {
    if (coalesceMs === 0) flush();
    else if (timer === null) timer = setTimeout(flush, coalesceMs);
  }

  /** @param {readonly K[]} keys */
  function add(keys) {
    for (const k of keys) pending.set(stableKey(k), k);
  }

  /** @param {string} name an event whose IDs are unknown: its scope, else everything */
  function scoped(name) {
    if (Object.hasOwn(scopes, name)) add(scopes[name]);
    else all = true;
  }

  const offEvent = sync.onEvent((name, data) => {
    if (!Object.hasOwn(map, name)) return;
    const records = expandIds(data);
    if (records === null) {
      scoped(name);
    } else {
      try {
        for (const r of records) add(map[name](r));
      } catch (err) {
        if (options.onError) options.onError(err, name);
        scoped(name);
      }
    }
    schedule();
  });
  const offResync = sync.onResync((r) => {
    if (r.event) {
      scoped(r.event);
      schedule();
      return;
    }
    if (spreadMs === 0) {
      all = true;
      schedule();
      return;
    }
    // Every browser of the deployment may get this resync at the same moment (a node lost):
    // each refetches at a random point of the spread, so the API is not hit all at once.
    const t = setTimeout(() => {
      spreading.delete(t);
      if (!bound) return;
      all = true;
      schedule();
    }, Math.random() * spreadMs);
    spreading.add(t);
  });

  return function unbind() {
    if (!bound) return;
    bound = false;
    offEvent();
    offResync();
    if (timer !== null) clearTimeout(timer);
    timer = null;
    for (const t of spreading) clearTimeout(t);
    spreading.clear();
    pending.clear();
  };
}

// Types of @syncgate/client (hand-written; checked by test/types.test.js with tsc --strict).
import type { io, Socket } from 'socket.io-client';

export declare const SOCKET: 'socket';
export declare const SOCKET_RESYNC: 'socket/resync';
export declare const SOCKET_STATUS: 'socket/status';

export declare const CONNECTED: 'connected';
export declare const RECONNECTING: 'reconnecting';
export declare const OFFLINE: 'offline';

/** The IDs of an event (and `_meta` when its trigger asks for metadata). */
export type EventData = Record<string, unknown>;

/** An event's metadata: `_meta` of its data, present when the trigger asks (version_from:, meta:). */
export interface EventMeta {
  version?: string;
  requestId?: string;
  etag?: string;
}

export interface ConnectionStatus {
  readonly state: 'connected' | 'reconnecting' | 'offline';
  readonly org: string | null;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly retrying: boolean;
  readonly recovered: boolean;
}

/** A resync: of the whole org, or, with `event`, of what that one event invalidates. */
export interface ResyncInfo {
  org: string;
  reason: string;
  event?: string;
}

export interface SocketAction {
  type: 'socket';
  payload: { name: string; data: unknown };
}
export interface ResyncAction {
  type: 'socket/resync';
  payload: ResyncInfo;
}
export interface StatusAction {
  type: 'socket/status';
  payload: ConnectionStatus;
}

export declare function socketAction(name: string, data: unknown): SocketAction;
export declare function resyncAction(org: string, reason: string, event?: string): ResyncAction;
export declare function isSocketEvent(...names: string[]): (action: unknown) => action is SocketAction;

export declare const initialStatus: ConnectionStatus;
export declare function connectionReducer(
  state: ConnectionStatus | undefined,
  action: { type: string; payload?: any },
): ConnectionStatus;

export type SyncErrorCode = 'offline' | 'undeclared' | 'malformed' | 'forbidden' | 'unavailable' | 'timeout' | (string & {});
export declare class SyncError extends Error {
  constructor(code: string, message?: string);
  readonly name: 'SyncError';
  code: SyncErrorCode;
}

export interface SyncClientOptions {
  /** The Redux store's dispatch; optional when only listeners or bindings are used. */
  dispatch?: (action: SocketAction | ResyncAction | StatusAction) => unknown;
  /** Origin of the gateway; "" (default) is the page's own. */
  url?: string;
  org?: number | string | null;
  /** The gateway's --namespace-prefix: namespaces are `{namespacePrefix}/{org}`. Default "/org". */
  namespacePrefix?: string;
  clientEvents?: readonly string[];
  socketOptions?: Record<string, any>;
  ackTimeout?: number;
  retryDelay?: { min: number; max: number };
  io?: typeof io;
}

export interface Ack {
  ok: true;
  [k: string]: unknown;
}

export interface SyncClient {
  readonly status: ConnectionStatus;
  readonly org: string | null;
  readonly socketId: string | null;
  originHeaders(): Record<string, string>;
  onStatus(fn: (s: ConnectionStatus) => void): () => void;
  onEvent(fn: (name: string, data: unknown) => void): () => void;
  onResync(fn: (r: ResyncInfo) => void): () => void;
  switchOrg(org: number | string | null): void;
  reconnect(): void;
  emitClientEvent(name: string, payload: Record<string, string | number>): Promise<Ack>;
  joinRoom(room: string): Promise<Ack | { ok: true; queued: true }>;
  leaveRoom(room: string): Promise<Ack | { ok: true; queued: true }>;
  close(): void;
}

export declare function createSyncClient(options?: SyncClientOptions): SyncClient;
export declare function orgId(org: number | string): string;

/** What the bindings need of a sync client. */
export type BindSource = Pick<SyncClient, 'onEvent' | 'onResync'>;

/** Options of bindQueryClient and bindRtkQuery; K is a query key or a tag. */
export interface BindOptions<K> {
  /** Window in ms (default 100): each key at most once per window, always once after the last event; 0: per event. */
  coalesceMs?: number;
  /** A whole resync invalidates everything after a random delay in [0, resyncSpreadMs) (default 0: at once), so that the browsers of a deployment told at the same moment do not refetch at the same moment. */
  resyncSpreadMs?: number;
  /** Keys for a resync scoped to one event; an event not listed invalidates everything. */
  resyncScopes?: Record<string, readonly K[]>;
  /** A map function threw; the event is then handled like a resync scoped to it. */
  onError?: (err: unknown, name: string) => void;
}

/** Expands ID lists of a coalesced payload into the plain payloads (null past MAX_EXPANSION). */
export declare function expandIds(data: unknown): EventData[] | null;
export declare const MAX_EXPANSION: number;
export declare const META_KEY: '_meta';

export type { Socket };

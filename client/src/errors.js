// The error the kit's promises reject with.

/**
 * SyncError is a refused or failed client operation; `code` is stable:
 * "offline" (not connected), "undeclared" (not a declared client event), "malformed" (payload
 * refused by the gateway), "forbidden" (room not declared), "unavailable", "timeout".
 */
export class SyncError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   */
  constructor(code, message) {
    super(message || code);
    this.name = 'SyncError';
    this.code = code;
  }
}

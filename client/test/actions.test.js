// The kit's pure parts: action creators, the matcher and the status reducer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  connectionReducer, initialStatus, isSocketEvent, resyncAction, socketAction, SOCKET_STATUS,
} from '../src/index.js';

test('isSocketEvent matches socket actions by event name', () => {
  const add = socketAction('personview.addrow', { viewId: 1, personId: 2 });
  assert.deepEqual(add, { type: 'socket', payload: { name: 'personview.addrow', data: { viewId: 1, personId: 2 } } });
  assert.equal(isSocketEvent('personview.addrow')(add), true);
  assert.equal(isSocketEvent('personview.addrow', 'personview.deleterow')(add), true);
  assert.equal(isSocketEvent('personview.deleterow')(add), false);
  assert.equal(isSocketEvent()(add), true, 'no names: every socket action');
  for (const other of [resyncAction('1', 'reconnect'), { type: 'socket' }, { type: 'socket', payload: null }, null, 'socket']) {
    assert.equal(isSocketEvent()(other), false, JSON.stringify(other));
  }
});

test('connectionReducer keeps the last status', () => {
  assert.equal(connectionReducer(undefined, { type: '@@INIT' }), initialStatus);
  const s = { state: 'connected', org: '1', reason: null, detail: null, retrying: false, recovered: false };
  assert.equal(connectionReducer(initialStatus, { type: SOCKET_STATUS, payload: s }), s);
  assert.equal(connectionReducer(s, socketAction('x', {})), s);
});

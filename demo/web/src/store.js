// The Redux store and the syncgate client that feeds it.
import { configureStore } from '@reduxjs/toolkit';
import { SOCKET, connectionReducer, createSyncClient } from '@syncgate/client';

import events, { eventReceived } from './events.js';
import notice from './notice.js';
import session from './session.js';
import view from './view.js';

export function makeStore() {
  /** @type {import('@reduxjs/toolkit').EnhancedStore} */
  let store;
  const sync = createSyncClient({
    dispatch: (action) => {
      store.dispatch(action);
      if (action.type === SOCKET) {
        // Every event the socket received, the gateway's own (resync, revoked) too, for the
        // raw-events panel.
        const { name, data } = action.payload;
        store.dispatch(eventReceived({ at: new Date().toISOString(), nsp: '/org/' + sync.org, name, data }));
      }
    },
  });
  store = configureStore({
    reducer: { session, view, notice, events, connection: connectionReducer },
    middleware: (defaults) => defaults({ thunk: { extraArgument: { sync } } }),
  });
  return { store, sync };
}

// The Redux store and the syncgate client that feeds it.
import { configureStore } from '@reduxjs/toolkit';
import { connectionReducer, createSyncClient } from '@syncgate/client';

import notice from './notice.js';
import session from './session.js';
import view from './view.js';

export function makeStore() {
  /** @type {import('@reduxjs/toolkit').EnhancedStore} */
  let store;
  const sync = createSyncClient({ dispatch: (action) => store.dispatch(action) });
  store = configureStore({
    reducer: { session, view, notice, connection: connectionReducer },
    middleware: (defaults) => defaults({ thunk: { extraArgument: { sync } } }),
  });
  return { store, sync };
}

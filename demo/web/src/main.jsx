// The syncgate demo page: React + Redux Toolkit on @syncgate/client.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'react-redux';

import App from './components/App.jsx';
import { start } from './session.js';
import { makeStore } from './store.js';
import './style.css';

const { store } = makeStore();
store.dispatch(start());

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <Provider store={store}>
      <App />
    </Provider>
  </StrictMode>,
);

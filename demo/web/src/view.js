// View 1 of the selected organization, cached as the Zetkin app caches lists: socket events
// and resyncs only mark it stale, and the page fetches it again through the API.
import { createAsyncThunk, createSlice } from '@reduxjs/toolkit';
import { isSocketEvent, SOCKET_RESYNC } from '@syncgate/client';

import { api, errorOf } from './api.js';
import { orgSelected } from './session.js';

export const VIEW_ID = 1;

export const fetchView = createAsyncThunk('view/fetch', async (org, { rejectWithValue }) => {
  const base = `/orgs/${org}/people`;
  try {
    const [view, rows, people] = await Promise.all([
      api('GET', `${base}/views/${VIEW_ID}`),
      api('GET', `${base}/views/${VIEW_ID}/rows`),
      api('GET', base),
    ]);
    return { title: view.title, rows, people };
  } catch (e) {
    return rejectWithValue(errorOf(e));
  }
});

const initialState = { org: null, title: '', rows: [], people: [], isStale: false, loading: false, loads: 0, error: null };

const view = createSlice({
  name: 'view',
  initialState,
  reducers: {
    viewStale(state) {
      state.isStale = true;
    },
    viewFailed(state, action) {
      state.error = action.payload;
    },
  },
  extraReducers: (b) => {
    b.addCase(orgSelected, (state, action) => ({ ...initialState, org: action.payload, isStale: action.payload !== null, loads: state.loads }));
    b.addCase(fetchView.pending, (state, action) => {
      if (action.meta.arg !== state.org) return;
      state.loading = true;
      state.isStale = false; // an event during the fetch makes it stale again
    });
    b.addCase(fetchView.fulfilled, (state, action) => {
      if (action.meta.arg !== state.org) return; // an answer for the org shown before
      Object.assign(state, action.payload, { loading: false, error: null, loads: state.loads + 1 });
    });
    b.addCase(fetchView.rejected, (state, action) => {
      if (action.meta.arg !== state.org) return;
      Object.assign(state, { loading: false, rows: [], people: [], error: action.payload || errorOf(action.error) });
    });
    // The PoC's reducers: an event about this view, or a resync, makes the list stale.
    b.addCase(SOCKET_RESYNC, (state) => {
      state.isStale = true;
    });
    b.addMatcher(isSocketEvent('personview.addrow', 'personview.deleterow'), (state, action) => {
      if (Number(action.payload.data?.viewId) === VIEW_ID) state.isStale = true;
    });
  },
});

export const { viewStale, viewFailed } = view.actions;
export default view.reducer;

/**
 * changeRow adds (PUT) or removes (DELETE) a person of the view. X-Socket-ID tells the
 * gateway not to echo the event to this window, which refreshes by itself.
 * @param {'PUT'|'DELETE'} method
 * @param {number} personId
 */
export const changeRow = (method, personId) => async (dispatch, getState, { sync }) => {
  const org = getState().view.org;
  try {
    await api(method, `/orgs/${org}/people/views/${VIEW_ID}/rows/${personId}`, sync.originHeaders());
  } catch (e) {
    dispatch(viewFailed(errorOf(e)));
  }
  dispatch(viewStale());
};

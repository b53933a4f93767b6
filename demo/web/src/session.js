// The logged-in demo user, their memberships and the selected organization.
import { createAsyncThunk, createSlice } from '@reduxjs/toolkit';

import { api, demoPost, errorOf } from './api.js';

/** The demo users, as the demo API seeds them. */
export const USERS = ['alice', 'bob', 'carol', 'dave'];

export const loadMemberships = createAsyncThunk('session/loadMemberships', async (_, { rejectWithValue }) => {
  try {
    return await api('GET', '/users/me/memberships');
  } catch (e) {
    const err = errorOf(e);
    return err.status === 401 ? [] : rejectWithValue(err);
  }
});

const session = createSlice({
  name: 'session',
  // requestId: the latest membership load; an older answer arriving late (say, the 401 of the
  // load at page start, after a login) must not overwrite a newer one.
  initialState: { loaded: false, requestId: null, user: null, memberships: [], org: null, error: null },
  reducers: {
    orgSelected(state, action) {
      state.org = action.payload;
    },
    sessionFailed(state, action) {
      state.error = action.payload;
    },
  },
  extraReducers: (b) => {
    b.addCase(loadMemberships.pending, (state, action) => {
      state.requestId = action.meta.requestId;
    });
    b.addCase(loadMemberships.fulfilled, (state, action) => {
      if (action.meta.requestId !== state.requestId) return;
      const ms = action.payload || [];
      state.loaded = true;
      state.memberships = ms;
      state.user = ms.length ? ms[0].profile.name : null;
      state.error = null;
    });
    b.addCase(loadMemberships.rejected, (state, action) => {
      if (action.meta.requestId !== state.requestId) return;
      state.loaded = true;
      state.error = action.payload || errorOf(action.error);
    });
  },
});

export const { orgSelected, sessionFailed } = session.actions;
export default session.reducer;

/**
 * selectOrg shows org and joins its namespace; fresh makes a new handshake (after a login,
 * the socket must carry the new cookie).
 * @param {number|null} org
 * @param {boolean} [fresh]
 */
export const selectOrg = (org, fresh = false) => (dispatch, _getState, { sync }) => {
  dispatch(orgSelected(org));
  history.replaceState(null, '', org ? '#org=' + org : location.pathname + location.search);
  if (fresh) sync.switchOrg(null);
  sync.switchOrg(org);
};

/** start loads the memberships and picks an org: the one in the URL, else the first with a role. */
export const start = () => async (dispatch, getState) => {
  const done = await dispatch(loadMemberships());
  if (done.meta.requestId !== getState().session.requestId) return; // a newer start() decides
  const ms = getState().session.memberships;
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get('org'));
  const pick = ms.find((m) => m.organization.id === wanted) || ms.find((m) => m.role !== null) || ms[0];
  dispatch(selectOrg(pick ? pick.organization.id : null, true));
};

/** @param {string} user */
export const login = (user) => async (dispatch) => {
  try {
    await demoPost('/demo/login?user=' + encodeURIComponent(user));
  } catch (e) {
    dispatch(sessionFailed(errorOf(e)));
    return;
  }
  await dispatch(start());
};

export const logout = () => async (dispatch) => {
  await demoPost('/demo/logout').catch(() => {});
  await dispatch(start());
};

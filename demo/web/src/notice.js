// The notice naming what just synced: the last change another window made to the view, or a
// resync. It holds IDs only; the page turns them into names from the refetched list. It is
// shown for a few seconds (shown), and kept (hidden) until the next one.
import { createSlice } from '@reduxjs/toolkit';
import { isSocketEvent, SOCKET_RESYNC } from '@syncgate/client';

import { orgSelected } from './session.js';
import { VIEW_ID } from './view.js';

const notice = createSlice({
  name: 'notice',
  initialState: { seq: 0, shown: false, kind: null, personId: null, reason: null },
  reducers: {
    noticeExpired(state, action) {
      if (action.payload === state.seq) state.shown = false;
    },
  },
  extraReducers: (b) => {
    b.addCase(orgSelected, (state) => {
      Object.assign(state, { shown: false, kind: null });
    });
    b.addCase(SOCKET_RESYNC, (state, action) => {
      Object.assign(state, { seq: state.seq + 1, shown: true, kind: 'resync', personId: null, reason: action.payload.reason });
    });
    b.addMatcher(isSocketEvent('personview.addrow', 'personview.deleterow'), (state, action) => {
      const { name, data } = action.payload;
      if (Number(data?.viewId) !== VIEW_ID) return;
      const kind = name === 'personview.addrow' ? 'added' : 'removed';
      Object.assign(state, { seq: state.seq + 1, shown: true, kind, personId: Number(data.personId), reason: null });
    });
  },
});

export const { noticeExpired } = notice.actions;
export default notice.reducer;

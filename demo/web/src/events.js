// The raw-events panel's state: the last events the socket received, newest first, each with
// its namespace, IDs and time. store.js stamps them as they arrive (reducers stay pure).
import { createSlice } from '@reduxjs/toolkit';

/** How many events the panel keeps. */
export const MAX_EVENTS = 50;

const events = createSlice({
  name: 'events',
  initialState: { seq: 0, list: [] },
  reducers: {
    /** payload: {at: ISO time, nsp: "/org/1", name, data} */
    eventReceived(state, action) {
      state.seq++;
      state.list.unshift({ seq: state.seq, ...action.payload });
      if (state.list.length > MAX_EVENTS) state.list.length = MAX_EVENTS;
    },
    eventsCleared(state) {
      state.list = [];
    },
  },
});

export const { eventReceived, eventsCleared } = events.actions;
export default events.reducer;

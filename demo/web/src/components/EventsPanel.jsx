// The raw-events panel beside the table: the connection (namespace, socket, status) and every
// event the socket received, newest first, with its namespace, IDs and time.
import { useDispatch, useSelector } from 'react-redux';

import { eventsCleared } from '../events.js';

/** @param {string} iso */
function clock(iso) {
  return iso.slice(11, 23); // HH:MM:SS.mmm, UTC
}

export default function EventsPanel() {
  const dispatch = useDispatch();
  const c = useSelector((s) => s.connection);
  const list = useSelector((s) => s.events.list);
  const nsp = c.org ? '/org/' + c.org : 'no namespace';
  return (
    <aside id="events" aria-label="Raw events">
      <h2>Events</h2>
      <p id="connection" data-state={c.state} data-nsp={c.org ? nsp : ''}>
        <code>{nsp}</code> · {c.state}
        {c.reason && c.state !== 'connected' ? ` (${c.reason})` : ''}
        {c.recovered ? ' (recovered)' : ''}
      </p>
      <ol id="event-log" data-count={list.length}>
        {list.map((e) => (
          <li key={e.seq} data-event={e.name} data-nsp={e.nsp}>
            <time dateTime={e.at}>{clock(e.at)}</time>
            <code className="nsp">{e.nsp}</code>
            <b className="name">{e.name}</b>
            <code className="ids">{JSON.stringify(e.data)}</code>
          </li>
        ))}
      </ol>
      {list.length === 0 && <p className="muted">No events yet: change the view in another window.</p>}
      <button type="button" id="events-clear" onClick={() => dispatch(eventsCleared())} disabled={list.length === 0}>clear</button>
    </aside>
  );
}

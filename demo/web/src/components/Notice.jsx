// "Synced: …": what another window just changed, or that everything was fetched again.
import { useEffect } from 'react';
import { useDispatch, useSelector } from 'react-redux';

import { noticeExpired } from '../notice.js';

const SHOW_MS = 6000;

function text(n, people, title) {
  if (n.kind === 'resync') {
    return n.reason === 'reconnect'
      ? 'Synced: reconnected, the list was fetched again'
      : `Synced: the gateway asked for a resync (${n.reason}), the list was fetched again`;
  }
  const p = people.find((x) => x.id === n.personId);
  const who = p ? `${p.first_name} ${p.last_name}` : `person ${n.personId}`;
  return `Synced: ${who} ${n.kind === 'added' ? 'added to' : 'removed from'} ${title || 'the view'} in another window`;
}

export default function Notice() {
  const dispatch = useDispatch();
  const n = useSelector((s) => s.notice);
  const people = useSelector((s) => s.view.people);
  const title = useSelector((s) => s.view.title);
  useEffect(() => {
    if (!n.shown) return undefined;
    const t = setTimeout(() => dispatch(noticeExpired(n.seq)), SHOW_MS);
    return () => clearTimeout(t);
  }, [dispatch, n.seq, n.shown]);
  return (
    <p id="notice" className="notice" role="status" aria-live="polite" hidden={!n.shown} data-seq={n.seq}>
      {n.kind ? text(n, people, title) : ''}
    </p>
  );
}

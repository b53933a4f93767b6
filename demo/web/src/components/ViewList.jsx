// View 1: its rows (remove) and the org's other people (add). A stale list is fetched again.
import { useEffect } from 'react';
import { useDispatch, useSelector } from 'react-redux';

import { changeRow, fetchView, VIEW_ID } from '../view.js';

function Person({ id, name, action, onClick }) {
  return (
    <li data-person={id}>
      <span>{name}</span>
      <button type="button" onClick={onClick}>{action}</button>
    </li>
  );
}

export default function ViewList() {
  const dispatch = useDispatch();
  const v = useSelector((s) => s.view);
  const sessionError = useSelector((s) => s.session.error);
  useEffect(() => {
    if (v.org !== null && v.isStale && !v.loading) dispatch(fetchView(v.org));
  }, [dispatch, v.org, v.isStale, v.loading]);

  const inView = new Set(v.rows.map((r) => r.id));
  const error = v.error || sessionError;
  return (
    <div className="view">
      <p id="error" className="error" role="alert" hidden={!error}>
        {error ? `Error: ${error.status ? error.status + ' ' : ''}${error.message}` : ''}
      </p>
      <main data-loads={v.loads} aria-busy={v.loading}>
        <section>
          <h2 id="view-title">View {VIEW_ID}{v.title ? ': ' + v.title : ''}</h2>
          <ul id="rows">
            {v.rows.map((r) => (
              <Person key={r.id} id={r.id} name={r.content.join(' ')} action="remove"
                onClick={() => dispatch(changeRow('DELETE', r.id))} />
            ))}
          </ul>
        </section>
        <section>
          <h2>Not in the view</h2>
          <ul id="others">
            {v.people.filter((p) => !inView.has(p.id)).map((p) => (
              <Person key={p.id} id={p.id} name={`${p.first_name} ${p.last_name}`} action="add"
                onClick={() => dispatch(changeRow('PUT', p.id))} />
            ))}
          </ul>
        </section>
      </main>
    </div>
  );
}

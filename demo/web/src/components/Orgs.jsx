// The user's organizations; picking one switches the socket to its namespace.
import { useDispatch, useSelector } from 'react-redux';

import { selectOrg } from '../session.js';

export default function Orgs() {
  const dispatch = useDispatch();
  const { memberships, org } = useSelector((s) => s.session);
  return (
    <nav className="bar" id="orgs" aria-label="Organization">
      {memberships.map((m) => (
        <button key={m.organization.id} type="button" data-org={m.organization.id}
          aria-pressed={m.organization.id === org} onClick={() => dispatch(selectOrg(m.organization.id))}>
          {m.organization.title} ({m.role || 'follower'})
        </button>
      ))}
    </nav>
  );
}

// The demo's login: one button per demo user.
import { useDispatch, useSelector } from 'react-redux';

import { login, logout, USERS } from '../session.js';

export default function Login() {
  const dispatch = useDispatch();
  const user = useSelector((s) => s.session.user);
  return (
    <section className="bar" aria-label="Demo user">
      <span>Log in as</span>
      {USERS.map((u) => (
        <button key={u} type="button" data-user={u} aria-pressed={user !== null && user.toLowerCase() === u}
          onClick={() => dispatch(login(u))}>{u}</button>
      ))}
      <button type="button" id="logout" onClick={() => dispatch(logout())}>log out</button>
      <span id="who" className="muted">{user ? 'logged in as ' + user : 'not logged in'}</span>
    </section>
  );
}

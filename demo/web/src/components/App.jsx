// The page: who is logged in, which org is shown, what just synced, view 1, and beside it the
// raw events with the connection.
import Login from './Login.jsx';
import EventsPanel from './EventsPanel.jsx';
import Notice from './Notice.jsx';
import Orgs from './Orgs.jsx';
import StatusBadge from './StatusBadge.jsx';
import ViewList from './ViewList.jsx';

export default function App() {
  return (
    <>
      <header>
        <h1>syncgate demo</h1>
        <StatusBadge />
      </header>
      <Login />
      <Orgs />
      <Notice />
      <div className="columns">
        <ViewList />
        <EventsPanel />
      </div>
      <footer className="muted">
        Open this page in a second window: with the same organization, each window sees the other's
        changes live; another organization sees nothing. Windows of one browser share the login
        cookie, so use a private window to be another user at the same time. alice belongs to both
        organizations; dave only follows organization 1, so his socket is refused.
        Third-party software: <a href="/demo/licenses.txt">licenses</a>.
      </footer>
    </>
  );
}

// The connection-status badge: connected, reconnecting or offline, with the reason.
import { useSelector } from 'react-redux';

const LABELS = { connected: 'connected', reconnecting: 'reconnecting…', offline: 'offline' };

/** @param {{state: string, reason: string|null, retrying: boolean, recovered: boolean}} c a ConnectionStatus of @syncgate/client */
function detail(c) {
  if (c.state === 'connected') return c.recovered ? 'recovered' : '';
  if (c.reason === 'revoked') return 'access revoked';
  if (c.reason === 'closed' || c.reason === 'connecting') return '';
  // Transport failures ("websocket error", "xhr poll error", "timeout"): the gateway is away.
  if (c.state === 'offline' && c.retrying && c.reason !== 'unavailable') return 'gateway unreachable, retrying';
  return c.reason || '';
}

export default function StatusBadge() {
  const c = useSelector((s) => s.connection);
  const more = detail(c);
  return (
    <span id="status" className={'badge ' + c.state} data-state={c.state} data-reason={c.reason || ''} role="status">
      {LABELS[c.state]}
      {more && <small> · {more}</small>}
    </span>
  );
}

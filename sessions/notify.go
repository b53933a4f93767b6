package sessions

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"
)

// subscribeTimeout bounds the wait for Redis to confirm the subscription.
const subscribeTimeout = 5 * time.Second

// endNotice is what one node tells the others when a session ends.
type endNotice struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// subscribe listens for end notices of other nodes. If Redis does not
// confirm in time, the client keeps trying in the background and the sweep
// covers the gap.
func (m *Manager) subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	m.ps = m.cfg.Redis.Subscribe(ctx, m.cfg.Channel)
	if _, err := m.ps.Receive(ctx); err != nil {
		m.log.Warn("session end notices: subscription not confirmed yet; retrying in the background", "channel", m.cfg.Channel, "err", err)
	}
	ch := m.ps.Channel()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for msg := range ch {
			var n endNotice
			if err := json.Unmarshal([]byte(msg.Payload), &n); err != nil || !validID(n.ID) {
				m.log.Warn("session end notices: malformed notice ignored", "channel", msg.Channel)
				continue
			}
			m.endLocal(n.ID, reasonFromCode(n.Reason))
		}
	}()
}

// publish tells every node that session id ended.
func (m *Manager) publish(ctx context.Context, id string, reason error) {
	if m.cfg.Redis == nil {
		return
	}
	b, err := json.Marshal(endNotice{ID: id, Reason: reasonCode(reason)})
	if err != nil {
		m.log.Error("session end notice: encode", "err", err)
		return
	}
	if err := m.cfg.Redis.Publish(context.WithoutCancel(ctx), m.cfg.Channel, b).Err(); err != nil {
		// Other nodes still close the sockets at their next sweep.
		m.log.Warn("session end notice not published", "session", shortID(id), "err", err)
	}
}

// validID reports whether id looks like a session ID (hex SHA-256).
func validID(id string) bool {
	if len(id) != 64 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

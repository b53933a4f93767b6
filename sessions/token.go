package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// refreshTimeout bounds one refresh, shared by every caller waiting for it.
const refreshTimeout = 30 * time.Second

// Token returns a valid access token of s, refreshing it through the
// provider when it expires within RefreshEarly. A refreshed token is written
// back to the store, so every node and a restarted node see it.
//
// Errors: ErrNotLoggedIn; ErrRefreshFailed (wraps ErrSessionEnded) when the
// provider refuses the refresh — the session is then ended everywhere and
// its sockets closed; ErrUnavailable when the provider or store cannot be
// reached (the session is kept); ErrExpired / ErrSessionEnded when the
// session ended meanwhile.
func (m *Manager) Token(ctx context.Context, s *Session) (*oauth2.Token, error) {
	if !s.LoggedIn() {
		return nil, ErrNotLoggedIn
	}
	if m.fresh(s.Token) {
		return cloneToken(s.Token), nil
	}
	// One refresh per session on this node at a time: a refresh token is
	// often single use. Callers that give up don't cancel it for the others.
	ch := m.refreshes.DoChan(s.ID, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return m.refresh(rctx, s.ID)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("sessions: waiting for a token refresh: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return cloneToken(res.Val.(*oauth2.Token)), nil
	}
}

// fresh reports whether t is usable for at least RefreshEarly more.
func (m *Manager) fresh(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || m.cfg.Now().Add(m.cfg.RefreshEarly).Before(t.Expiry)
}

// refresh renews the token of session id from the stored record.
func (m *Manager) refresh(ctx context.Context, id string) (*oauth2.Token, error) {
	now := m.cfg.Now()
	cur, err := m.store.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		m.endLocal(id, ErrSessionEnded)
		return nil, ErrSessionEnded
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case !m.alive(cur, now):
		_ = m.end(ctx, id, ErrExpired)
		return nil, ErrExpired
	case cur.Token == nil:
		return nil, ErrNotLoggedIn
	case m.fresh(cur.Token):
		m.remember(id, cur, now) // another node refreshed it already
		return cur.Token, nil
	case cur.Token.RefreshToken == "":
		m.log.Info("access token expired and there is no refresh token", "session", shortID(id))
		_ = m.end(ctx, id, ErrRefreshFailed)
		return nil, ErrRefreshFailed
	}
	tok, err := m.tokenSource(ctx, id, cur.Token.RefreshToken).Token()
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, ErrNotFound): // deleted while refreshing
		m.endLocal(id, ErrSessionEnded)
		return nil, ErrSessionEnded
	case !refused(err):
		return nil, fmt.Errorf("%w: token refresh: %w", ErrUnavailable, err)
	}
	// Refused. Another node may have used the (single-use) refresh token a
	// moment before us and stored the result.
	if again, gerr := m.store.Get(ctx, id); gerr == nil && again.Token != nil &&
		again.Token.RefreshToken != cur.Token.RefreshToken && m.fresh(again.Token) {
		m.remember(id, again, m.cfg.Now())
		return again.Token, nil
	}
	m.log.Info("token refresh refused, ending the session", "session", shortID(id), "err", err)
	_ = m.end(ctx, id, ErrRefreshFailed)
	return nil, fmt.Errorf("%w: %w", ErrRefreshFailed, err)
}

// stamp returns a copy of a token fresh from the provider whose Expiry is
// computed from expires_in on the Manager's clock (the one fresh uses).
func (m *Manager) stamp(t *oauth2.Token) *oauth2.Token {
	c := cloneToken(t)
	if c.ExpiresIn > 0 {
		c.Expiry = m.cfg.Now().Add(time.Duration(c.ExpiresIn) * time.Second)
	}
	return c
}

// refused reports whether the provider definitely rejected a refresh (the
// grant is revoked or invalid), as opposed to failing to answer.
func refused(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return false
	}
	if re.ErrorCode == "invalid_grant" {
		return true
	}
	return re.Response != nil && (re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized)
}

// tokenSource is the library's refreshing TokenSource, wrapped so that
// every token it mints is written back to the store: oauth2 has no hook for
// that.
func (m *Manager) tokenSource(ctx context.Context, id, refreshToken string) oauth2.TokenSource {
	octx := context.WithValue(ctx, oauth2.HTTPClient, m.cfg.HTTPClient)
	// An empty access token is never valid, so the first Token() refreshes.
	base := m.cfg.OAuth.Config.TokenSource(octx, &oauth2.Token{RefreshToken: refreshToken})
	return &persistingSource{ctx: ctx, m: m, id: id, base: base}
}

// persistingSource stores each new token of base in session id.
type persistingSource struct {
	ctx  context.Context
	m    *Manager
	id   string
	base oauth2.TokenSource
}

// Token implements oauth2.TokenSource.
func (p *persistingSource) Token() (*oauth2.Token, error) {
	tok, err := p.base.Token()
	if err != nil {
		return nil, err
	}
	tok = p.m.stamp(tok)
	s, err := p.m.store.Update(p.ctx, p.id, func(x *Session) error {
		x.Token = cloneToken(tok)
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, err
	case err != nil:
		// The token is good but only this call has it; the next refresh
		// (here or elsewhere) may find its refresh token rotated away.
		p.m.log.Error("refreshed token not persisted", "session", shortID(p.id), "err", err)
		return tok, nil
	}
	p.m.remember(p.id, s, p.m.cfg.Now())
	return tok, nil
}

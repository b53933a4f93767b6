package sessions

import (
	"net/http"
	"strings"
)

// cookieValue returns the request's session cookie if it is well formed, else "".
// Only the first cookie of that name counts (see Config.CookieName on
// __Host- names against cookies planted by sibling subdomains).
func (m *Manager) cookieValue(r *http.Request) string {
	c, err := r.Cookie(m.cfg.CookieName)
	if err != nil || !wellFormed(c.Value) {
		return ""
	}
	return c.Value
}

// setCookie issues value: HttpOnly, SameSite=Lax, Secure unless Insecure,
// Path=/, kept by the browser for the absolute lifetime.
func (m *Manager) setCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.cfg.CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(m.cfg.AbsoluteTTL.Seconds()),
		HttpOnly: true,
		Secure:   !m.cfg.Insecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie tells the browser to drop the session cookie.
func (m *Manager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.cfg.CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   !m.cfg.Insecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// StripCookie removes the session cookie from h's Cookie headers and keeps
// every other cookie, joined into one header; none left: no header.
func (m *Manager) StripCookie(h http.Header) {
	values := h.Values("Cookie")
	if len(values) == 0 {
		return
	}
	var kept []string
	for _, line := range values {
		var parts []string
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(part, "=")
			if strings.TrimSpace(name) == m.cfg.CookieName || strings.TrimSpace(part) == "" {
				continue
			}
			parts = append(parts, strings.TrimSpace(part))
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

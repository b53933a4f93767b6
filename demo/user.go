package demo

import (
	"context"
	"net/http"
	"strings"
)

type userKey struct{}

// requestUser names the demo user of r: "Authorization: Bearer <name>" if the header is
// present (then it alone decides), else the demo_user cookie.
func requestUser(r *http.Request) (*seedUser, bool) {
	name := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, false
		}
		name = token
	} else if c, err := r.Cookie(CookieName); err == nil {
		name = c.Value
	}
	return lookupUser(name)
}

func lookupUser(name string) (*seedUser, bool) {
	for i := range demoUsers {
		if demoUsers[i].name == name {
			return &demoUsers[i], true
		}
	}
	return nil, false
}

// role returns the user's role in org; ok is false for followers (role null) and non-members.
func (u *seedUser) role(org int64) (role string, ok bool) {
	for _, m := range u.memberships {
		if m.org == org {
			return m.role, m.role != ""
		}
	}
	return "", false
}

func withUser(ctx context.Context, u *seedUser) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userOf returns the user that requireUser put into the request's context.
func userOf(r *http.Request) *seedUser {
	return r.Context().Value(userKey{}).(*seedUser)
}

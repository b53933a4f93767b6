package demo

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
)

// requireUser answers 401 to any request without a known demo user.
func (a *API) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := requestUser(r)
		if !ok {
			writeError(w, a.log, http.StatusUnauthorized, "unauthorized")
			return
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
	})
}

// requireRole answers 403 unless the user has a non-null role in the path's organization.
// A malformed organization ID is answered 403 as well, so nothing tells orgs apart.
func (a *API) requireRole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, ok := pathID(r, "orgId")
		if ok {
			_, ok = userOf(r).role(org)
		}
		if !ok {
			writeError(w, a.log, http.StatusForbidden, "forbidden")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pathID parses a path parameter as a canonical positive decimal ID: no sign, no leading zero,
// at most 18 digits. Anything else is refused, so "01" and "1" never both name the same thing.
func pathID(r *http.Request, name string) (int64, bool) {
	s := chi.URLParam(r, name)
	if len(s) == 0 || len(s) > 18 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

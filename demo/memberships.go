package demo

import "net/http"

// membershipJSON is one entry of GET /users/me/memberships, in the Zetkin format.
type membershipJSON struct {
	Organization struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	} `json:"organization"`
	Role    *string `json:"role"` // null for a follower
	Profile struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"profile"`
	Follow bool `json:"follow"`
}

func (a *API) membership(u *seedUser, m seedMembership) membershipJSON {
	var out membershipJSON
	out.Organization.ID = m.org
	out.Organization.Title = a.store.orgTitle(m.org)
	if m.role != "" {
		role := m.role
		out.Role = &role
	}
	out.Profile.ID = a.store.profileID(u.name, m.org)
	out.Profile.Name = u.display
	out.Follow = true
	return out
}

// listMemberships serves GET /users/me/memberships.
func (a *API) listMemberships(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	out := make([]membershipJSON, 0, len(u.memberships))
	for _, m := range u.memberships {
		out = append(out, a.membership(u, m))
	}
	writeData(w, a.log, http.StatusOK, out)
}

// getMembership serves GET /users/me/memberships/{orgId}; 404 when the user is no member.
func (a *API) getMembership(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if org, ok := pathID(r, "orgId"); ok {
		for _, m := range u.memberships {
			if m.org == org {
				writeData(w, a.log, http.StatusOK, a.membership(u, m))
				return
			}
		}
	}
	writeError(w, a.log, http.StatusNotFound, "not found")
}

package fakedrive

import (
	"net/http"
	"slices"
	"strconv"
)

// change is one entry of the change log: a file changed (lostBy == "") or
// one user lost access to it.
type change struct {
	fileID string
	lostBy string
}

type changeJSON struct {
	Kind       string    `json:"kind"`
	ChangeType string    `json:"changeType"`
	FileID     string    `json:"fileId"`
	Removed    bool      `json:"removed"`
	File       *fileJSON `json:"file,omitempty"`
}

// changesList answers the user's changes from pageToken on, at most
// PageSize of them, with nextPageToken when more remain and
// newStartPageToken when the feed is drained.
func (s *Server) changesList(r *http.Request, user string) (any, *apiError) {
	q := r.URL.Query()
	size := s.cfg.PageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errInvalid("pageSize")
		}
		size = min(size, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, err := strconv.Atoi(q.Get("pageToken"))
	if err != nil || from < 0 || from > len(s.log) {
		return nil, errInvalid("pageToken")
	}
	out := struct {
		Kind              string       `json:"kind"`
		NextPageToken     string       `json:"nextPageToken,omitempty"`
		NewStartPageToken string       `json:"newStartPageToken,omitempty"`
		Changes           []changeJSON `json:"changes"`
	}{Kind: "drive#changeList", Changes: []changeJSON{}}
	i := from
	for ; i < len(s.log) && len(out.Changes) < size; i++ {
		if c, ok := s.visible(s.log[i], user); ok {
			out.Changes = append(out.Changes, c)
		}
	}
	// Google may end a page early; a page that is full when more entries
	// remain hands out nextPageToken, even if none of them is visible.
	if i < len(s.log) {
		out.NextPageToken = strconv.Itoa(i)
	} else {
		out.NewStartPageToken = strconv.Itoa(len(s.log))
	}
	return out, nil
}

// visible is the entry as user's feed shows it. s.mu is held.
func (s *Server) visible(c change, user string) (changeJSON, bool) {
	j := changeJSON{Kind: "drive#change", ChangeType: "file", FileID: c.fileID}
	if c.lostBy != "" {
		j.Removed = true
		return j, c.lostBy == user
	}
	f := s.files[c.fileID]
	if f == nil || !f.readers[user] {
		return j, false
	}
	fj := f.json()
	j.File = &fj
	return j, true
}

// sortNewestFirst orders files by creation, newest first.
func sortNewestFirst(fs []*file) {
	slices.SortFunc(fs, func(a, b *file) int { return b.order - a.order })
}

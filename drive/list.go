package drive

import (
	"context"
	"fmt"
	"slices"

	drivev3 "google.golang.org/api/drive/v3"
)

// File is one entry of List.
type File struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// List returns the IDs and names of u's most recent files (ListSize of
// them), cached per user for ListTTL. It is u's own data: send it to u's
// socket only. Errors are those of Watch.
func (w *Watcher) List(ctx context.Context, u User) ([]File, error) {
	if u.Key == "" || u.Tokens == nil {
		return nil, fmt.Errorf("drive: %w: List needs a user key and a token source", ErrUnavailable)
	}
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	files, err := w.lists.get(ctx, u.Key+"\x00", func(lctx context.Context) ([]File, error) {
		svc, err := w.service(lctx, u)
		if err != nil {
			return nil, err
		}
		var fl *drivev3.FileList
		err = w.sched.call(lctx, u.Key, CallFilesList, w.cfg.MaxAttempts, func(cctx context.Context) error {
			var err error
			fl, err = svc.Files.List().PageSize(w.cfg.ListSize).OrderBy("recency desc").Q("trashed = false").
				Fields("files(id,name)").SupportsAllDrives(true).IncludeItemsFromAllDrives(true).Context(cctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		out := make([]File, 0, len(fl.Files))
		for _, f := range fl.Files {
			out = append(out, File{ID: f.Id, Name: f.Name})
		}
		return out, nil
	})
	if err != nil {
		c := classify(ctx, err, w.cfg.IsRevoked)
		if c == classRevoked {
			w.mu.Lock()
			if usr := w.users[u.Key]; usr != nil {
				w.dropUserLocked(usr, watchError(c, err))
			}
			w.mu.Unlock()
		}
		return nil, watchError(c, err)
	}
	return slices.Clone(files), nil
}

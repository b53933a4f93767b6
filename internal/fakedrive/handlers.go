package fakedrive

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// routes serves the Drive v3 paths the watcher uses, under /drive/v3/.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /drive/v3/files/{fileId}", s.handle(FilesGet, s.filesGet))
	mux.HandleFunc("GET /drive/v3/files", s.handle(FilesList, s.filesList))
	mux.HandleFunc("GET /drive/v3/changes/startPageToken", s.handle(StartPageToken, s.startPageToken))
	mux.HandleFunc("GET /drive/v3/changes", s.handle(ChangesList, s.changesList))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.calls.add(Call{Time: time.Now(), Endpoint: r.URL.Path, Status: http.StatusNotFound})
		(&apiError{Code: http.StatusNotFound, Message: "Not Found",
			Errors: []errorItem{{Domain: "global", Reason: "notFound", Message: "Not Found"}}}).write(w)
	})
	return mux
}

// endpointFunc answers one authenticated call with a JSON body or an error.
type endpointFunc func(r *http.Request, user string) (any, *apiError)

// handle authenticates, applies injected faults, records the call and
// writes the answer.
func (s *Server) handle(endpoint string, fn endpointFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		s.calls.enter()
		defer s.calls.leave()
		s.mu.Lock()
		latency := s.latency
		s.mu.Unlock()
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		call := Call{Time: arrived, Endpoint: endpoint, Fields: r.URL.Query().Get("fields")}
		if endpoint == ChangesList {
			call.PageToken = r.URL.Query().Get("pageToken")
		}
		user, aerr := s.userOf(r)
		call.User = user
		if aerr == nil {
			s.mu.Lock()
			aerr = s.takeFault(user, endpoint)
			s.mu.Unlock()
		}
		var body any
		if aerr == nil {
			body, aerr = fn(r, user)
		}
		if aerr != nil {
			call.Status = aerr.Code
			aerr.write(w)
		} else {
			call.Status = http.StatusOK
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			_ = json.NewEncoder(w).Encode(body)
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		call.Done = time.Now()
		s.calls.add(call)
	}
}

// fileJSON is a File resource; version is a string as in Google's JSON.
type fileJSON struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version"`
}

func (f *file) json() fileJSON {
	return fileJSON{Kind: "drive#file", ID: f.id, Name: f.name, Version: strconv.FormatInt(f.version, 10)}
}

// filesGet answers a file the user can read, else 404 as Google does.
func (s *Server) filesGet(r *http.Request, user string) (any, *apiError) {
	id := r.PathValue("fileId")
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil || !f.readers[user] {
		return nil, errNotFound(id)
	}
	return f.json(), nil
}

// filesList lists the files the user can read, newest first, paged by
// pageSize (default 100) and an offset pageToken.
func (s *Server) filesList(r *http.Request, user string) (any, *apiError) {
	q := r.URL.Query()
	size, off := 100, 0
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errInvalid("pageSize")
		}
		size = n
	}
	if v := q.Get("pageToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errInvalid("pageToken")
		}
		off = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	readable := make([]*file, 0, len(s.files))
	for _, f := range s.files {
		if f.readers[user] {
			readable = append(readable, f)
		}
	}
	sortNewestFirst(readable)
	out := struct {
		Kind          string     `json:"kind"`
		NextPageToken string     `json:"nextPageToken,omitempty"`
		Files         []fileJSON `json:"files"`
	}{Kind: "drive#fileList", Files: []fileJSON{}}
	for i := off; i < len(readable) && i < off+size; i++ {
		out.Files = append(out.Files, readable[i].json())
	}
	if off+size < len(readable) {
		out.NextPageToken = strconv.Itoa(off + size)
	}
	return out, nil
}

// startPageToken answers the position of the end of the change log.
func (s *Server) startPageToken(r *http.Request, user string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{"kind": "drive#startPageToken", "startPageToken": strconv.Itoa(len(s.log))}, nil
}

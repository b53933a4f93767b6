package inproc

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func post(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestProfileNamesCannotEscapeTheProfileDir(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(NewProfiler(dir))
	defer srv.Close()
	// A path in the name would let a request overwrite any file the process can write.
	for _, name := range []string{"../evil", "/etc/passwd", "a/b", ".hidden", ""} {
		if code := post(t, srv, "/bench/heapprofile?name="+name); code != http.StatusBadRequest {
			t.Errorf("name %q: status %d, want 400", name, code)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil")); err == nil {
		t.Fatal("a file was written outside the profile dir")
	}
}

func TestCPUAndHeapProfilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(NewProfiler(dir))
	defer srv.Close()
	if code := post(t, srv, "/bench/cpuprofile/stop"); code != http.StatusConflict {
		t.Fatalf("stop before start: %d, want 409", code)
	}
	if code := post(t, srv, "/bench/cpuprofile/start?name=cpu.pprof"); code != 200 {
		t.Fatalf("start: %d", code)
	}
	if code := post(t, srv, "/bench/cpuprofile/start?name=cpu2.pprof"); code != http.StatusConflict {
		t.Fatalf("second start: %d, want 409", code)
	}
	if code := post(t, srv, "/bench/cpuprofile/stop"); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	if code := post(t, srv, "/bench/heapprofile?name=heap.pprof"); code != 200 {
		t.Fatalf("heap: %d", code)
	}
	for _, f := range []string{"cpu.pprof", "heap.pprof"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v (size %v)", f, err, st)
		}
	}
}

package demo_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Many clients at once, run with -race: every answer has an allowed status and the store
// ends consistent (each 201 added exactly one person).
func TestConcurrentUse(t *testing.T) {
	base := startAPI(t) + "/v1"
	send := func(user, method, path, body string) (int, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+user)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		defer res.Body.Close()
		_, err = io.Copy(io.Discard, res.Body)
		return res.StatusCode, err
	}

	const workers, rounds = 8, 40
	var created atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			user := []string{"alice", "bob"}[w%2]
			row := fmt.Sprintf("/orgs/1/people/views/1/rows/%d", w%4+1)
			for range rounds {
				steps := []struct {
					method, path, body string
					ok                 []int
				}{
					{"PUT", row, "", []int{200}},
					{"GET", "/orgs/1/people/views/1/rows", "", []int{200}},
					{"DELETE", row, "", []int{204, 404}}, // another worker may have removed it
					{"POST", "/orgs/1/people", `{"first_name":"Racer"}`, []int{201}},
					{"GET", "/users/me/memberships", "", []int{200}},
					{"GET", "/orgs/2/people", "", map[string][]int{"alice": {200}, "bob": {403}}[user]},
				}
				for _, s := range steps {
					status, err := send(user, s.method, s.path, s.body)
					if err != nil {
						t.Error(err)
						return
					}
					if !slices.Contains(s.ok, status) {
						t.Errorf("%s %s as %s: status %d, want one of %v", s.method, s.path, user, status, s.ok)
						return
					}
					if status == http.StatusCreated {
						created.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()

	c := apiClient{t: t, base: base, user: "alice"}
	if got, want := len(c.people("1")), seededPeople/2+int(created.Load()); got != want {
		t.Fatalf("org 1 has %d people, want %d", got, want)
	}
	if created.Load() != workers*rounds {
		t.Fatalf("%d people created, want %d", created.Load(), workers*rounds)
	}
}

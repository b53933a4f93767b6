package demo

import (
	"cmp"
	"errors"
	"slices"
	"sync"
)

// Sentinel errors of the store; handlers map them to HTTP statuses.
var (
	errNotFound = errors.New("not found")
	errLimit    = errors.New("limit reached")
)

// maxPeoplePerOrg bounds the memory a client can make the in-memory store hold.
const maxPeoplePerOrg = 500

// person is a person record as the API returns it.
type person struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// view is a person view (a saved list) of an organization.
type view struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// row is one row of a view: the person's ID and the cells of the view's columns.
type row struct {
	ID      int64    `json:"id"`
	Content []string `json:"content"`
}

type orgData struct {
	title  string
	people map[int64]person
	views  map[int64]*viewData
}

type viewData struct {
	view
	rows map[int64]bool // person IDs
}

// store holds the demo data. All methods are safe for concurrent use and return copies.
// Person IDs are unique across organizations, as in Zetkin; view IDs count per organization.
type store struct {
	mu       sync.Mutex
	nextID   int64
	orgs     map[int64]*orgData
	profiles map[string]map[int64]int64 // user → org → person ID of the user's profile
}

func newStore() *store {
	s := &store{orgs: map[int64]*orgData{}, profiles: map[string]map[int64]int64{}}
	for _, so := range demoOrgs {
		o := &orgData{title: so.title, people: map[int64]person{}, views: map[int64]*viewData{}}
		ids := make([]int64, len(so.people))
		for i, sp := range so.people {
			s.nextID++
			ids[i] = s.nextID
			o.people[s.nextID] = person{ID: s.nextID, FirstName: sp.first, LastName: sp.last, Email: sp.email}
			if sp.user != "" {
				if s.profiles[sp.user] == nil {
					s.profiles[sp.user] = map[int64]int64{}
				}
				s.profiles[sp.user][so.id] = s.nextID
			}
		}
		for i, sv := range so.views {
			vd := &viewData{view: view{ID: int64(i + 1), Title: sv.title}, rows: map[int64]bool{}}
			for _, idx := range sv.rows {
				vd.rows[ids[idx]] = true
			}
			o.views[vd.ID] = vd
		}
		s.orgs[so.id] = o
	}
	return s
}

func (s *store) orgTitle(org int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[org]; o != nil {
		return o.title
	}
	return ""
}

func (s *store) profileID(user string, org int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profiles[user][org]
}

// people lists an organization's people ordered by ID.
func (s *store) people(org int64) ([]person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return nil, errNotFound
	}
	out := make([]person, 0, len(o.people))
	for _, p := range o.people {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b person) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// person returns one person of org.
func (s *store) person(org, id int64) (person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return person{}, errNotFound
	}
	p, ok := o.people[id]
	if !ok {
		return person{}, errNotFound
	}
	return p, nil
}

// addPerson stores p under a new ID and returns it.
func (s *store) addPerson(org int64, p person) (person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return person{}, errNotFound
	}
	if len(o.people) >= maxPeoplePerOrg {
		return person{}, errLimit
	}
	s.nextID++
	p.ID = s.nextID
	o.people[p.ID] = p
	return p, nil
}

// updatePerson applies change to the person id of org and returns the result.
func (s *store) updatePerson(org, id int64, change func(*person)) (person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return person{}, errNotFound
	}
	p, ok := o.people[id]
	if !ok {
		return person{}, errNotFound
	}
	change(&p)
	p.ID = id
	o.people[id] = p
	return p, nil
}

// deletePerson removes a person and their rows in every view of org.
func (s *store) deletePerson(org, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return errNotFound
	}
	if _, ok := o.people[id]; !ok {
		return errNotFound
	}
	delete(o.people, id)
	for _, v := range o.views {
		delete(v.rows, id)
	}
	return nil
}

// views lists an organization's views ordered by ID.
func (s *store) views(org int64) ([]view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return nil, errNotFound
	}
	out := make([]view, 0, len(o.views))
	for _, v := range o.views {
		out = append(out, v.view)
	}
	slices.SortFunc(out, func(a, b view) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *store) view(org, id int64) (view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked(org, id)
	if err != nil {
		return view{}, err
	}
	return v.view, nil
}

// rows lists a view's rows ordered by person ID.
func (s *store) rows(org, viewID int64) ([]row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked(org, viewID)
	if err != nil {
		return nil, err
	}
	out := make([]row, 0, len(v.rows))
	for id := range v.rows {
		out = append(out, rowOf(s.orgs[org].people[id]))
	}
	slices.SortFunc(out, func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// addRow puts a person of org into the view; adding a person already there is not an error.
func (s *store) addRow(org, viewID, personID int64) (row, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked(org, viewID)
	if err != nil {
		return row{}, err
	}
	p, ok := s.orgs[org].people[personID]
	if !ok {
		return row{}, errNotFound
	}
	v.rows[personID] = true
	return rowOf(p), nil
}

// deleteRow takes a person out of the view; errNotFound if they were not in it.
func (s *store) deleteRow(org, viewID, personID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked(org, viewID)
	if err != nil {
		return err
	}
	if !v.rows[personID] {
		return errNotFound
	}
	delete(v.rows, personID)
	return nil
}

func (s *store) viewLocked(org, id int64) (*viewData, error) {
	o := s.orgs[org]
	if o == nil {
		return nil, errNotFound
	}
	v := o.views[id]
	if v == nil {
		return nil, errNotFound
	}
	return v, nil
}

// viewColumns are the columns every demo view shows, matching row.Content.
var viewColumns = []map[string]any{
	{"id": 1, "title": "First name", "type": "person_field", "config": map[string]string{"field": "first_name"}},
	{"id": 2, "title": "Last name", "type": "person_field", "config": map[string]string{"field": "last_name"}},
}

func rowOf(p person) row {
	return row{ID: p.ID, Content: []string{p.FirstName, p.LastName}}
}

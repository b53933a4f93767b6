package demo

// Role values of a membership. A follower has no role: JSON null.
const (
	roleAdmin     = "admin"
	roleOrganizer = "organizer"
)

// CookieName is the cookie that names the demo user, set by POST /demo/login.
const CookieName = "demo_user"

// seedPerson is one person of a seeded organization; user links it to a demo user's profile.
type seedPerson struct {
	first, last, email, user string
}

// seedMembership is one membership of a demo user; role "" encodes null (a follower).
type seedMembership struct {
	org  int64
	role string
}

type seedUser struct {
	name, display string
	memberships   []seedMembership
}

type seedView struct {
	title string
	rows  []int // 0-based indexes into the org's people
}

type seedOrg struct {
	id     int64
	title  string
	people []seedPerson
	views  []seedView
}

// demoUsers are the people who can log in, in the order the page shows them.
var demoUsers = []seedUser{
	{"alice", "Alice", []seedMembership{{1, roleAdmin}, {2, roleOrganizer}}},
	{"bob", "Bob", []seedMembership{{1, roleOrganizer}}},
	{"carol", "Carol", []seedMembership{{2, roleAdmin}}},
	{"dave", "Dave", []seedMembership{{1, ""}}},
}

var demoOrgs = []seedOrg{
	{
		id: 1, title: "Springfield Tenants",
		people: []seedPerson{
			{"Alice", "Andersson", "alice@example.org", "alice"},
			{"Bob", "Berg", "bob@example.org", "bob"},
			{"Dave", "Dahl", "dave@example.org", "dave"},
			{"Homer", "Simpson", "homer@example.org", ""},
			{"Marge", "Simpson", "marge@example.org", ""},
			{"Ned", "Flanders", "ned@example.org", ""},
			{"Edna", "Krabappel", "edna@example.org", ""},
			{"Apu", "Nahasapeemapetilon", "apu@example.org", ""},
		},
		views: []seedView{
			{"Phone bank", []int{3, 4, 5}},
			{"Board", []int{0, 1}},
		},
	},
	{
		id: 2, title: "Shelbyville Renters",
		people: []seedPerson{
			{"Alice", "Andersson", "alice@example.org", "alice"},
			{"Carol", "Carlsson", "carol@example.org", "carol"},
			{"Joe", "Quimby", "joe@example.org", ""},
			{"Lisa", "Simpson", "lisa@example.org", ""},
			{"Milhouse", "Van Houten", "milhouse@example.org", ""},
			{"Patty", "Bouvier", "patty@example.org", ""},
			{"Selma", "Bouvier", "selma@example.org", ""},
			{"Otto", "Mann", "otto@example.org", ""},
		},
		views: []seedView{
			{"Door knocking", []int{2, 3}},
		},
	},
}

// Users returns the names of the demo users, in the order the demo page offers them.
func Users() []string {
	names := make([]string, len(demoUsers))
	for i, u := range demoUsers {
		names[i] = u.name
	}
	return names
}

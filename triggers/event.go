package triggers

// Event is one invalidation event fired by a successful mutating call.
//
// It carries IDs only: nothing from the request or response other than the
// declared placeholders and from_response values ever ends up in Data.
type Event struct {
	// Org is the organization in canonical decimal form (no leading zeros);
	// the event goes to the Socket.IO namespace "/org/" + Org.
	Org string
	// Name is the event name from the trigger file, matching [a-z0-9_.:-]+.
	Name string
	// Data maps payload keys to IDs: int64 when the value is all digits and
	// fits, else a string matching [A-Za-z0-9_-]{1,64}. Never nil.
	Data map[string]any
	// Room optionally narrows delivery to one room inside the org namespace;
	// "" means the whole namespace.
	Room string
}

package loadgen

// NewPlacedFleet is NewFleet with each socket's node and org chosen by place(i) instead of
// Config.AddrOf and Config.OrgOf: a multi-node run where each node holds sockets of only some
// orgs. Config().OrgOf then no longer describes the fleet; count expected deliveries with
// OrgOfSocket.
func NewPlacedFleet(cfg Config, maxSeq int, place func(i int) (addr string, org int)) *Fleet {
	f := NewFleet(cfg, maxSeq)
	for i, s := range f.sockets {
		s.addr, s.org = place(i)
	}
	return f
}

// OrgOfSocket returns the org socket i joins.
func (f *Fleet) OrgOfSocket(i int) int { return f.sockets[i].org }

// AddrOfSocket returns the node socket i connects to.
func (f *Fleet) AddrOfSocket(i int) string { return f.sockets[i].addr }

// StatsWhere is Stats over the sockets keep selects (e.g. those of one node).
func (f *Fleet) StatsWhere(expectedPerOrg map[int]int, keep func(i int) bool) PhaseStats {
	sub := &Fleet{}
	for i, s := range f.sockets {
		if keep(i) {
			sub.sockets = append(sub.sockets, s)
		}
	}
	return sub.Stats(expectedPerOrg)
}

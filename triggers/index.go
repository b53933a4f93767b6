package triggers

// node is a path trie: one level per segment, literal children by value and
// one child for any placeholder. Each node is reached by exactly one route
// from the root, so a walk visits every node at most once.
type node struct {
	lits  map[string]*node
	param *node
	ends  []int // indexes of the triggers whose path ends here
}

func (n *node) insert(segs []segment, trigger int) {
	for _, s := range segs {
		if s.param != "" {
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
			continue
		}
		if n.lits == nil {
			n.lits = map[string]*node{}
		}
		child := n.lits[s.lit]
		if child == nil {
			child = &node{}
			n.lits[s.lit] = child
		}
		n = child
	}
	n.ends = append(n.ends, trigger)
}

// walk appends to out the triggers matching segs[i:]. A placeholder only
// matches an ID-like segment.
func (n *node) walk(segs []string, i int, out []int) []int {
	if i == len(segs) {
		return append(out, n.ends...)
	}
	if c := n.lits[segs[i]]; c != nil {
		out = c.walk(segs, i+1, out)
	}
	if n.param != nil && isID(segs[i]) {
		out = n.param.walk(segs, i+1, out)
	}
	return out
}

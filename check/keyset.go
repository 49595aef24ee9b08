package check

import (
	"iter"
	"slices"
)

// smallSet is the most keys a keySet holds in a slice.
const smallSet = 8

// keySet is a set of entry keys. Most subjects and claims have one entry,
// and a Go map costs a few hundred bytes even for one key (at 50,000 bare
// pods, the maps of their subjects and claims were a sixth of the Base), so
// a set is a slice up to smallSet keys and a map beyond. A nil *keySet is
// empty.
type keySet struct {
	few  []string
	many map[string]struct{}
}

func (s *keySet) add(k string) {
	switch {
	case s.many != nil:
		s.many[k] = struct{}{}
	case slices.Contains(s.few, k): // already there
	case len(s.few) < smallSet:
		s.few = append(s.few, k)
	default:
		s.many = make(map[string]struct{}, 2*smallSet)
		for _, x := range s.few {
			s.many[x] = struct{}{}
		}
		s.many[k] = struct{}{}
		s.few = nil
	}
}

func (s *keySet) remove(k string) {
	if s.many != nil {
		delete(s.many, k)
	} else if i := slices.Index(s.few, k); i >= 0 {
		s.few = slices.Delete(s.few, i, i+1)
	}
}

func (s *keySet) len() int {
	if s == nil {
		return 0
	}
	if s.many != nil {
		return len(s.many)
	}
	return len(s.few)
}

// all yields the keys in no particular order; the set must not change
// meanwhile.
func (s *keySet) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		if s.many != nil {
			for k := range s.many {
				if !yield(k) {
					return
				}
			}
			return
		}
		for _, k := range s.few {
			if !yield(k) {
				return
			}
		}
	}
}

// readerIndex maps names (claims, volumes, owners) to the entry keys that
// read them. Most names have one reader, kept in a map of strings; a keySet
// is made only for names with several. (A keySet and its slice for every
// name cost 33 bytes more per pod at 50,000 bare pods, each with a claim
// and a volume.)
type readerIndex struct {
	one  map[string]string
	many map[string]*keySet
}

func newReaderIndex() readerIndex {
	return readerIndex{one: map[string]string{}, many: map[string]*keySet{}}
}

// link adds ek to the readers of name.
func (r readerIndex) link(name, ek string) {
	if s := r.many[name]; s != nil {
		s.add(ek)
		return
	}
	first, ok := r.one[name]
	switch {
	case !ok:
		r.one[name] = ek
	case first != ek:
		delete(r.one, name)
		s := &keySet{}
		s.add(first)
		s.add(ek)
		r.many[name] = s
	}
}

// unlink removes ek from the readers of name.
func (r readerIndex) unlink(name, ek string) {
	if s := r.many[name]; s != nil {
		s.remove(ek)
		switch s.len() {
		case 0:
			delete(r.many, name)
		case 1:
			for k := range s.all() {
				r.one[name] = k
			}
			delete(r.many, name)
		}
		return
	}
	if r.one[name] == ek {
		delete(r.one, name)
	}
}

// of yields the readers of name, in no particular order; they must not
// change meanwhile.
func (r readerIndex) of(name string) iter.Seq[string] {
	if ek, ok := r.one[name]; ok {
		return func(yield func(string) bool) { yield(ek) }
	}
	return r.many[name].all()
}

// len returns the number of names with a reader.
func (r readerIndex) len() int { return len(r.one) + len(r.many) }

package loadgen

import "sort"

// maxGaps bounds the holes remembered per publisher in a seqTracker. Past
// it the oldest hole is forgotten: its sequence numbers stay counted as
// missing, and should one of them still arrive it is counted as a
// duplicate. A Herald stream keeps order, so in practice the list holds a
// handful of holes at most.
const maxGaps = 4096

// seqRange is the half-open range [lo, hi) of sequence numbers.
type seqRange struct{ lo, hi uint64 }

// pubSeq is what one subscriber knows of one publisher's sequence: every
// number below next has arrived except those in gaps (and forgotten ones).
type pubSeq struct {
	next      uint64
	gaps      []seqRange // sorted, disjoint, all below next
	forgotten uint64     // sequence numbers of holes dropped from gaps
}

// seqTracker checks the sequence numbers one subscriber receives, per
// publisher: a number seen twice is a duplicate; a number that arrives
// after a higher one from the same publisher is out of order; a number that
// never arrives is missing. It is owned by one goroutine.
type seqTracker struct {
	pubs       []pubSeq
	received   uint64 // every message, duplicates included
	duplicates uint64
	outOfOrder uint64
}

// observe records the arrival of seq from publisher pub.
func (t *seqTracker) observe(pub int, seq uint64) {
	if pub >= len(t.pubs) {
		t.pubs = append(t.pubs, make([]pubSeq, pub+1-len(t.pubs))...)
	}
	t.received++
	p := &t.pubs[pub]
	switch {
	case seq == p.next:
		p.next++
	case seq > p.next:
		p.gaps = append(p.gaps, seqRange{p.next, seq})
		if len(p.gaps) > maxGaps {
			p.forgotten += p.gaps[0].hi - p.gaps[0].lo
			p.gaps = append(p.gaps[:0], p.gaps[1:]...)
		}
		p.next = seq + 1
	default:
		if p.fill(seq) {
			t.outOfOrder++
		} else {
			t.duplicates++
		}
	}
}

// fill removes seq from the holes, reporting whether it was in one.
func (p *pubSeq) fill(seq uint64) bool {
	i := sort.Search(len(p.gaps), func(i int) bool { return p.gaps[i].hi > seq })
	if i == len(p.gaps) || p.gaps[i].lo > seq {
		return false
	}
	g := p.gaps[i]
	switch {
	case g.lo == seq && g.hi == seq+1:
		p.gaps = append(p.gaps[:i], p.gaps[i+1:]...)
	case g.lo == seq:
		p.gaps[i].lo++
	case g.hi == seq+1:
		p.gaps[i].hi--
	default:
		p.gaps = append(p.gaps, seqRange{})
		copy(p.gaps[i+2:], p.gaps[i+1:])
		p.gaps[i] = seqRange{g.lo, seq}
		p.gaps[i+1] = seqRange{seq + 1, g.hi}
	}
	return true
}

// missing returns how many of the sequence numbers below attempted[pub],
// for every publisher, have not arrived, not counting those in failed[pub]
// (messages whose publish failed, so that nobody expects them). failed[pub]
// must be sorted. It also returns how many failed ones did arrive.
func (t *seqTracker) missing(attempted []uint64, failed [][]uint64) (missing, arrivedFailed uint64) {
	for pub, n := range attempted {
		var p pubSeq
		if pub < len(t.pubs) {
			p = t.pubs[pub]
		}
		var fails []uint64
		if pub < len(failed) {
			fails = failed[pub]
		}
		holes := append([]seqRange(nil), p.gaps...)
		if n > p.next {
			holes = append(holes, seqRange{p.next, n})
		}
		missing += p.forgotten
		for _, h := range holes {
			hi := min(h.hi, n)
			if hi <= h.lo {
				continue
			}
			missing += hi - h.lo - countIn(fails, h.lo, hi)
		}
		arrivedFailed += uint64(len(fails)) - countInHoles(fails, holes)
	}
	return missing, arrivedFailed
}

// countIn returns how many values of the sorted slice s lie in [lo, hi).
func countIn(s []uint64, lo, hi uint64) uint64 {
	a := sort.Search(len(s), func(i int) bool { return s[i] >= lo })
	b := sort.Search(len(s), func(i int) bool { return s[i] >= hi })
	return uint64(b - a)
}

// countInHoles returns how many values of the sorted slice s lie in any of
// the disjoint ranges holes.
func countInHoles(s []uint64, holes []seqRange) uint64 {
	var n uint64
	for _, h := range holes {
		n += countIn(s, h.lo, h.hi)
	}
	return n
}

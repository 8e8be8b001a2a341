package loadgen

import (
	"math/rand/v2"
	"testing"
)

func TestSeqTracker(t *testing.T) {
	t.Parallel()
	type arrival struct {
		pub int
		seq uint64
	}
	for _, tc := range []struct {
		name                              string
		arrivals                          []arrival
		attempted                         []uint64   // per publisher
		failed                            [][]uint64 // per publisher
		missing, dups, ooo, arrivedFailed uint64
	}{
		{
			name:      "in order, complete",
			arrivals:  []arrival{{0, 0}, {0, 1}, {1, 0}, {0, 2}, {1, 1}},
			attempted: []uint64{3, 2},
		},
		{
			name:      "tail never arrived",
			arrivals:  []arrival{{0, 0}, {0, 1}},
			attempted: []uint64{5},
			missing:   3,
		},
		{
			name:      "a publisher never heard from",
			arrivals:  []arrival{{0, 0}},
			attempted: []uint64{1, 4},
			missing:   4,
		},
		{
			name:      "holes in the middle",
			arrivals:  []arrival{{0, 0}, {0, 3}, {0, 4}, {0, 9}},
			attempted: []uint64{10},
			missing:   6, // 1 2 5 6 7 8
		},
		{
			name:      "late arrivals fill holes: out of order, not missing",
			arrivals:  []arrival{{0, 0}, {0, 4}, {0, 2}, {0, 1}, {0, 3}},
			attempted: []uint64{5},
			ooo:       3,
		},
		{
			name:      "fill splits a hole",
			arrivals:  []arrival{{0, 10}, {0, 5}},
			attempted: []uint64{11},
			ooo:       1,
			missing:   9,
		},
		{
			name:      "duplicates of in-order and of filled numbers",
			arrivals:  []arrival{{0, 0}, {0, 0}, {0, 2}, {0, 1}, {0, 1}, {0, 2}},
			attempted: []uint64{3},
			dups:      3,
			ooo:       1,
		},
		{
			name:      "publishers are independent",
			arrivals:  []arrival{{0, 0}, {1, 1}, {1, 0}, {0, 1}},
			attempted: []uint64{2, 2},
			ooo:       1,
		},
		{
			name:      "failed publishes are not expected",
			arrivals:  []arrival{{0, 0}, {0, 2}},
			attempted: []uint64{4},
			failed:    [][]uint64{{1, 3}},
		},
		{
			name:          "failed publishes that arrived anyway",
			arrivals:      []arrival{{0, 0}, {0, 1}, {0, 2}},
			attempted:     []uint64{4},
			failed:        [][]uint64{{1, 3}},
			arrivedFailed: 1,
		},
		{
			name:      "numbers from beyond the attempts do not count as missing",
			arrivals:  []arrival{{0, 0}, {0, 7}},
			attempted: []uint64{3},
			missing:   2,
		},
	} {
		var tr seqTracker
		for _, a := range tc.arrivals {
			tr.observe(a.pub, a.seq)
		}
		missing, arrivedFailed := tr.missing(tc.attempted, tc.failed)
		if missing != tc.missing || tr.duplicates != tc.dups || tr.outOfOrder != tc.ooo || arrivedFailed != tc.arrivedFailed {
			t.Errorf("%s: missing %d dups %d ooo %d arrivedFailed %d; want %d %d %d %d", tc.name,
				missing, tr.duplicates, tr.outOfOrder, arrivedFailed, tc.missing, tc.dups, tc.ooo, tc.arrivedFailed)
		}
		if tr.received != uint64(len(tc.arrivals)) {
			t.Errorf("%s: received %d, want %d", tc.name, tr.received, len(tc.arrivals))
		}
	}
}

// TestSeqTrackerRandomShuffles checks the accounting against a plain set on
// random deliveries with loss, duplication and reordering.
func TestSeqTrackerRandomShuffles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 200 {
		const pubs = 3
		n := uint64(1 + rng.IntN(500))
		var tr seqTracker
		seen := make([]map[uint64]bool, pubs)
		var dups uint64
		for p := range pubs {
			seen[p] = map[uint64]bool{}
			var order []uint64
			for s := range n {
				if rng.IntN(10) == 0 {
					continue // lost
				}
				order = append(order, s)
				if rng.IntN(20) == 0 {
					order = append(order, s) // duplicated
				}
			}
			// Local reordering: swap neighbours now and then.
			for i := 1; i < len(order); i++ {
				if rng.IntN(8) == 0 {
					order[i-1], order[i] = order[i], order[i-1]
				}
			}
			for _, s := range order {
				if seen[p][s] {
					dups++
				}
				seen[p][s] = true
				tr.observe(p, s)
			}
		}
		var wantMissing uint64
		for p := range pubs {
			wantMissing += n - uint64(len(seen[p]))
		}
		missing, _ := tr.missing([]uint64{n, n, n}, nil)
		if missing != wantMissing || tr.duplicates != dups {
			t.Fatalf("round %d: missing %d dups %d, want %d %d", round, missing, tr.duplicates, wantMissing, dups)
		}
		if unique := tr.received - tr.duplicates; unique != pubs*n-wantMissing {
			t.Fatalf("round %d: unique %d, want %d", round, unique, pubs*n-wantMissing)
		}
	}
}

func TestSeqTrackerForgetsOldestHolesBeyondTheBound(t *testing.T) {
	t.Parallel()
	var tr seqTracker
	// Every other number: maxGaps+10 holes of one.
	for s := uint64(0); s < 2*(maxGaps+10); s += 2 {
		tr.observe(0, s+1)
	}
	if len(tr.pubs[0].gaps) != maxGaps {
		t.Fatalf("%d holes kept, want the bound %d", len(tr.pubs[0].gaps), maxGaps)
	}
	n := uint64(2 * (maxGaps + 10))
	if missing, _ := tr.missing([]uint64{n}, nil); missing != maxGaps+10 {
		t.Fatalf("missing %d, want %d: forgotten holes still count", missing, maxGaps+10)
	}
	tr.observe(0, 0) // in a forgotten hole: counted as a duplicate
	tr.observe(0, n-2)
	if tr.duplicates != 1 || tr.outOfOrder != 1 {
		t.Fatalf("dups %d ooo %d, want 1 1", tr.duplicates, tr.outOfOrder)
	}
}

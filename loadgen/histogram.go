package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram layout: log-linear buckets, HDR style. Values below
// 2^subBucketBits have a bucket each; above, every power of two is split
// into 2^subBucketBits equal buckets, so a bucket is never wider than 1/128
// of the values it holds. Reporting the middle of a bucket puts every
// percentile within 0.4% of an exact one.
const (
	subBucketBits  = 7
	subBucketCount = 1 << subBucketBits
	// numBuckets covers every non-negative int64.
	numBuckets = (64 - subBucketBits) * subBucketCount
)

// Histogram records durations (latencies) in fixed memory — about 58 KiB
// whatever the number of samples — and answers percentiles within 0.4% of
// the exact value, with the exact minimum, maximum and mean. Negative
// durations are recorded as zero.
//
// The zero value is an empty histogram. A Histogram is safe for concurrent
// use: Record only does atomic additions, so many subscribers can share one.
// Reads while recording goes on see a consistent-enough snapshot for
// progress output; read after recording has stopped for exact results.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; wraps only after 584 years of samples
	min    atomic.Int64  // min + 1, so that zero means "none yet"
	max    atomic.Int64
}

// bucketOf returns the bucket index of v ≥ 0.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < subBucketCount {
		return int(u)
	}
	shift := bits.Len64(u) - subBucketBits - 1 // keep the top subBucketBits+1 bits
	return (shift+1)*subBucketCount + int(u>>shift) - subBucketCount
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subBucketCount {
		return int64(i), int64(i)
	}
	shift := i/subBucketCount - 1
	mantissa := uint64(i%subBucketCount + subBucketCount)
	lo64 := mantissa << shift
	hi64 := lo64 + (uint64(1) << shift) - 1
	if hi64 > math.MaxInt64 {
		hi64 = math.MaxInt64
	}
	return int64(lo64), int64(hi64)
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(uint64(v))
	for {
		cur := h.max.Load()
		if v <= cur || h.max.CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := h.min.Load()
		if (cur != 0 && v+1 >= cur) || h.min.CompareAndSwap(cur, v+1) {
			break
		}
	}
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest sample, exactly; zero when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Min returns the smallest sample, exactly; zero when empty.
func (h *Histogram) Min() time.Duration {
	if m := h.min.Load(); m > 0 {
		return time.Duration(m - 1)
	}
	return 0
}

// Mean returns the average sample, exactly; zero when empty.
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Percentile returns the sample at quantile q in [0, 1]: the smallest
// recorded value such that at least q of all samples are less than or equal
// to it (the nearest-rank definition), within 0.4%. Percentile(1) is the
// exact maximum and Percentile(0) the exact minimum; an empty histogram
// gives zero.
func (h *Histogram) Percentile(q float64) time.Duration {
	n := h.total.Load()
	switch {
	case n == 0:
		return 0
	case q <= 0:
		return h.Min()
	case q >= 1:
		return h.Max()
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := lo + (hi-lo)/2
			// The exact extremes are known: a bucket holding them
			// cannot report a value outside them.
			return time.Duration(min(max(mid, int64(h.Min())), h.max.Load()))
		}
	}
	return h.Max() // counts raced ahead of total
}

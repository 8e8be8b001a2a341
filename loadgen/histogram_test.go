package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// exactPercentile is the nearest-rank percentile of sorted samples.
func exactPercentile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramPercentilesMatchExactOnes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		gen  func() int64
	}{
		// Latencies: log-normal around 1 ms with a long tail.
		{"lognormal", func() int64 { return int64(math.Exp(rng.NormFloat64()*1.5) * 1e6) }},
		{"uniform 0-10ms", func() int64 { return rng.Int64N(10_000_000) }},
		{"small integers", func() int64 { return rng.Int64N(300) }},
		{"spread over decades", func() int64 { return int64(math.Pow(10, rng.Float64()*12)) }},
	} {
		var h Histogram
		samples := make([]int64, 200_000)
		var sum int64
		for i := range samples {
			v := dist.gen()
			samples[i] = v
			sum += v
			h.Record(time.Duration(v))
		}
		slices.Sort(samples)
		for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999} {
			exact := exactPercentile(samples, q)
			got := int64(h.Percentile(q))
			if diff := math.Abs(float64(got - exact)); diff > 0.004*float64(exact) {
				t.Errorf("%s: p%v = %d, exact %d: off by %.3f%%", dist.name, q*100, got, exact, 100*diff/float64(exact))
			}
		}
		if got, want := int64(h.Max()), samples[len(samples)-1]; got != want {
			t.Errorf("%s: max %d, want exactly %d", dist.name, got, want)
		}
		if got, want := int64(h.Percentile(1)), samples[len(samples)-1]; got != want {
			t.Errorf("%s: p100 %d, want the max %d", dist.name, got, want)
		}
		if got, want := int64(h.Min()), samples[0]; got != want {
			t.Errorf("%s: min %d, want exactly %d", dist.name, got, want)
		}
		if got, want := int64(h.Mean()), sum/int64(len(samples)); got != want {
			t.Errorf("%s: mean %d, want exactly %d", dist.name, got, want)
		}
		if h.Count() != uint64(len(samples)) {
			t.Errorf("%s: count %d, want %d", dist.name, h.Count(), len(samples))
		}
	}
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	t.Parallel()
	var h Histogram
	for v := range 256 {
		h.Record(time.Duration(v))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 127}, {0.25, 63}, {0.99, 253}, {1, 255}, {0, 0}} {
		if got := h.Percentile(tc.q); got != tc.want {
			t.Errorf("p%v = %d, want %d", tc.q*100, got, tc.want)
		}
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	t.Parallel()
	var h Histogram
	if h.Count() != 0 || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 || h.Percentile(0.5) != 0 {
		t.Fatal("an empty histogram reports something other than zero")
	}
	h.Record(-5 * time.Millisecond) // a clock step: counted as zero
	if h.Count() != 1 || h.Max() != 0 || h.Percentile(0.5) != 0 {
		t.Fatalf("negative sample: count %d max %v p50 %v", h.Count(), h.Max(), h.Percentile(0.5))
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	t.Parallel()
	check := func(v int64) {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("bucketOf(%d) = %d, whose range is [%d, %d]", v, i, lo, hi)
		}
		if v >= 2*subBucketCount && float64(hi-lo+1) > float64(lo)/subBucketCount {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, subBucketCount)
		}
	}
	for v := range int64(5000) {
		check(v)
	}
	for shift := range 63 {
		base := int64(1) << shift
		for _, d := range []int64{-1, 0, 1} {
			if v := base + d; v >= 0 {
				check(v)
			}
		}
	}
	check(math.MaxInt64)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		check(rng.Int64() >> rng.IntN(63))
	}
	// Buckets are contiguous: each starts right after the previous.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, the previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestHistogramConcurrentRecords(t *testing.T) {
	t.Parallel()
	var h Histogram
	var wg sync.WaitGroup
	const workers, each = 8, 10_000
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				h.Record(time.Duration(w*each + i))
			}
		})
	}
	wg.Wait()
	if h.Count() != workers*each || h.Max() != workers*each-1 || h.Min() != 0 {
		t.Fatalf("count %d max %d min %d", h.Count(), h.Max(), h.Min())
	}
	exact := int64(workers*each/2 - 1)
	if got := int64(h.Percentile(0.5)); math.Abs(float64(got-exact)) > 0.004*float64(exact) {
		t.Fatalf("p50 %d, exact %d", got, exact)
	}
}

package limits

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func wantRefusal(t *testing.T, err error, reason string) {
	t.Helper()
	if status.Code(err) != codes.ResourceExhausted || refusal.Reason(err) != reason {
		t.Fatalf("err = %v (code %v, reason %q), want ResourceExhausted %s", err, status.Code(err), refusal.Reason(err), reason)
	}
}

func TestConnectLimits(t *testing.T) {
	l := New(Config{MaxConnections: 3, MaxConnectionsPerIP: 2})
	r1, err := l.Connect("10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Connect("10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Connect("10.0.0.1")
	wantRefusal(t, err, refusal.TooManyConnections)
	r3, err := l.Connect("10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Connect("10.0.0.3")
	wantRefusal(t, err, refusal.TooManyConnections)
	if l.Connections() != 3 {
		t.Errorf("Connections = %d, want 3", l.Connections())
	}
	r1()
	r1() // a second release is harmless
	if l.Connections() != 2 {
		t.Errorf("Connections after a double release = %d, want 2", l.Connections())
	}
	r4, err := l.Connect("10.0.0.1")
	if err != nil {
		t.Fatalf("a slot given back must be admitted again: %v", err)
	}
	for _, r := range []func(){r2, r3, r4} {
		r()
	}
	if l.Connections() != 0 || len(l.perIP) != 0 {
		t.Errorf("after releasing all: %d connections, %d addresses tracked", l.Connections(), len(l.perIP))
	}
}

func TestUnlimited(t *testing.T) {
	l := New(Config{MaxConnections: -1, MaxConnectionsPerIP: -1, PublishRate: -1, SubscribeRate: -1, MaxTopics: -1})
	for range 5000 {
		if _, err := l.Connect("10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := l.Publish("k"); err != nil {
			t.Fatal(err)
		}
		if err := l.Subscribe("c"); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.CheckTopics(1 << 20); err != nil {
		t.Fatal(err)
	}
	if l.publish.size() != 0 {
		t.Error("an unlimited rate must not track keys")
	}
}

func TestPublishRate(t *testing.T) {
	c := testutil.NewClock(time.Unix(1_800_000_000, 0))
	l := New(Config{PublishRate: 2, PublishBurst: 3, Now: c.Now})
	for i := range 3 {
		if err := l.Publish("a"); err != nil {
			t.Fatalf("publish %d within the burst: %v", i, err)
		}
	}
	err := l.Publish("a")
	wantRefusal(t, err, refusal.RateLimited)
	if d := refusal.RetryAfter(err); d <= 0 || d > 500*time.Millisecond {
		t.Errorf("RetryAfter = %v, want (0, 500ms]", d)
	}
	if err := l.Publish("b"); err != nil {
		t.Errorf("another key has its own bucket: %v", err)
	}
	// A refusal takes no token: after 500ms exactly one more is allowed.
	c.Add(500 * time.Millisecond)
	if err := l.Publish("a"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	wantRefusal(t, l.Publish("a"), refusal.RateLimited)
}

func TestIdleKeysForgotten(t *testing.T) {
	c := testutil.NewClock(time.Unix(1_800_000_000, 0))
	l := New(Config{PublishRate: 1, PublishBurst: 1, Now: c.Now})
	for _, k := range []string{"a", "b", "c"} {
		if err := l.Publish(k); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(2 * idleEvict)
	if err := l.Publish("d"); err != nil {
		t.Fatal(err)
	}
	if n := l.publish.size(); n != 1 {
		t.Errorf("%d keys tracked after the idle ones expired, want 1", n)
	}
}

func TestSubscribeRates(t *testing.T) {
	c := testutil.NewClock(time.Unix(1_800_000_000, 0))
	l := New(Config{SubscribeRate: 1, SubscribeBurst: 2, Now: c.Now})
	for range 2 {
		if err := l.Subscribe("1.2.3.4:5"); err != nil {
			t.Fatal(err)
		}
	}
	wantRefusal(t, l.Subscribe("1.2.3.4:5"), refusal.RateLimited)
	if err := l.Subscribe("1.2.3.4:6"); err != nil {
		t.Errorf("another connection: %v", err)
	}
	cr := l.NewConnRate()
	for range 2 {
		if err := cr.Allow(); err != nil {
			t.Fatal(err)
		}
	}
	err := cr.Allow()
	wantRefusal(t, err, refusal.RateLimited)
	if d := refusal.RetryAfter(err); d <= 0 || d > time.Second {
		t.Errorf("RetryAfter = %v, want (0, 1s]", d)
	}
	c.Add(time.Second)
	if err := cr.Allow(); err != nil {
		t.Errorf("after a second: %v", err)
	}
}

func TestTopics(t *testing.T) {
	l := New(Config{})
	if err := l.CheckTopics(DefaultMaxTopics); err != nil {
		t.Errorf("the default topic limit refused %d: %v", DefaultMaxTopics, err)
	}
	wantRefusal(t, l.CheckTopics(DefaultMaxTopics+1), refusal.TooManyTopics)
	l = New(Config{MaxTopics: 2})
	if err := l.CheckTopics(2); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, l.CheckTopics(3), refusal.TooManyTopics)
}

func TestConcurrentConnect(t *testing.T) {
	l := New(Config{MaxConnections: 50, MaxConnectionsPerIP: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 100 {
		wg.Go(func() {
			if r, err := l.Connect("10.0.0.1"); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
				defer r()
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if admitted < 50 || l.Connections() != 0 {
		t.Errorf("admitted %d (want at least 50), %d left", admitted, l.Connections())
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":             "10.0.0.1",
		"::ffff:10.0.0.1":      "10.0.0.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not-an-ip":            "not-an-ip",
		"2001:db8:1:3:3:4:5:6": "2001:db8:1:3::/64",
	} {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
	l := New(Config{MaxConnectionsPerIP: 1})
	r, err := l.Connect("2001:db8:1:2::1")
	if err != nil {
		t.Fatal(err)
	}
	defer r()
	_, err = l.Connect("2001:db8:1:2::2")
	wantRefusal(t, err, refusal.TooManyConnections)
	r2, err := l.Connect("2001:db8:1:3::1")
	if err != nil {
		t.Fatalf("another /64: %v", err)
	}
	r2()
}

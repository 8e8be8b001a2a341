package loadgen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("the zero config (all defaults) is refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown transport", Config{Transport: "carrier-pigeon"}, "transport"},
		{"too many subscribers", Config{Subscribers: MaxSubscribers + 1}, "subscribers"},
		{"negative subscribers", Config{Subscribers: -1}, "subscribers"},
		{"rate too high", Config{Rate: MaxRate + 1}, "rate"},
		{"duration too long", Config{Duration: MaxDuration + time.Second}, "duration"},
		{"negative warmup", Config{Warmup: -time.Second}, "warmup"},
		{"warmup too long", Config{Warmup: MaxWarmup + time.Second}, "warmup"},
		{"payload smaller than the header", Config{PayloadSize: HeaderLen - 1}, "header"},
		{"payload too large", Config{PayloadSize: MaxPayloadSize + 1}, "payload size"},
		{"too many publishers", Config{Publishers: MaxPublishers + 1}, "publishers"},
		{"negative pid", Config{ServerPID: -3}, "pid"},
		{"too many source addrs", Config{SourceAddrs: MaxSourceAddrs + 1}, "source addrs"},
		{"wildcard topic", Config{Topic: "a.>"}, "topic"},
		{"empty token", Config{Topic: "a..b"}, "empty token"},
		{"non-loopback HTTP address", Config{HTTPAddr: "192.0.2.10:8080"}, "only loopback"},
		{"non-loopback gRPC address", Config{GRPCAddr: "10.1.2.3:9090"}, "only loopback"},
		{"unspecified address", Config{GRPCAddr: "0.0.0.0:9090"}, "only loopback"},
		{"IPv6 non-loopback", Config{HTTPAddr: "[2001:db8::1]:8080"}, "only loopback"},
		{"IPv4-mapped non-loopback", Config{HTTPAddr: "[::ffff:192.0.2.1]:8080"}, "only loopback"},
		{"no host", Config{HTTPAddr: ":8080"}, "no host"},
		{"no port", Config{HTTPAddr: "127.0.0.1"}, "host:port"},
		{"port zero", Config{HTTPAddr: "127.0.0.1:0"}, "port"},
		{"bad port", Config{HTTPAddr: "127.0.0.1:http"}, "port"},
		{"connect rate too high", Config{ConnectRate: MaxConnectRate + 1}, "connect rate"},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig mentioning %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range []Config{
		{HTTPAddr: "127.0.0.1:1", GRPCAddr: "[::1]:2"},
		{HTTPAddr: "127.9.8.7:8080"},
		{HTTPAddr: "localhost:8080"}, // resolved by Run
		{Topic: "chat.room-1:a@b_c"},
		{Idle: true, Warmup: time.Minute}, // warm-up ignored when idle
		{Subscribers: MaxSubscribers, SourceAddrs: 0},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", ok, err)
		}
	}
}

func TestConfigDerivedValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subs, explicit, want int
	}{
		{1000, 0, 0}, {ConnsPerSourceAddr, 0, 0}, {ConnsPerSourceAddr + 1, 0, 2},
		{100_000, 0, 5}, {10, 3, 3},
	} {
		if got := (Config{Subscribers: tc.subs, SourceAddrs: tc.explicit}).sourceAddrs(); got != tc.want {
			t.Errorf("sourceAddrs(%d subscribers, %d set) = %d, want %d", tc.subs, tc.explicit, got, tc.want)
		}
	}
	for _, tc := range []struct {
		rate, set, want int
	}{
		{1, 0, 1}, {3, 0, 3}, {10, 0, 10}, {32, 0, 32}, {100, 0, 32}, {500, 0, 50}, {1000, 0, 64},
		{100_000, 0, 64}, {100, 7, 7}, {2, 7, 2},
	} {
		if got := (Config{Rate: tc.rate, Publishers: tc.set}).publishers(); got != tc.want {
			t.Errorf("publishers(rate %d, set %d) = %d, want %d", tc.rate, tc.set, got, tc.want)
		}
	}
}

func TestResolveLoopback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for addr, want := range map[string]string{
		"127.0.0.1:8080":       "127.0.0.1:8080",
		"127.1.2.3:1":          "127.1.2.3:1",
		"[::1]:9090":           "[::1]:9090",
		"[::ffff:127.0.0.1]:5": "127.0.0.1:5",
	} {
		got, err := resolveLoopback(ctx, addr)
		if err != nil || got.String() != want {
			t.Errorf("resolveLoopback(%q) = %v, %v; want %s", addr, got, err, want)
		}
	}
	if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", "localhost"); err == nil && len(ips) > 0 {
		got, err := resolveLoopback(ctx, "localhost:8080")
		if err != nil || !got.Addr().IsLoopback() || got.Port() != 8080 {
			t.Errorf("resolveLoopback(localhost) = %v, %v", got, err)
		}
	}
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80", "0.0.0.0:80"} {
		if _, err := resolveLoopback(ctx, addr); !errors.Is(err, errNotLoopback) {
			t.Errorf("resolveLoopback(%q) = %v, want errNotLoopback", addr, err)
		}
	}
	// A name is refused when any of its addresses is not loopback, and an
	// IPv4 address is preferred (source addresses need one).
	fake := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "mixed.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.5")}, nil
		case "both.test":
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2")}, nil
		}
		return nil, nil
	}
	if _, err := resolveLoopbackWith(ctx, "mixed.test:80", fake); !errors.Is(err, errNotLoopback) {
		t.Errorf("a name with a non-loopback address: %v", err)
	}
	if got, err := resolveLoopbackWith(ctx, "both.test:80", fake); err != nil || got.String() != "127.0.0.2:80" {
		t.Errorf("both.test = %v, %v; want 127.0.0.2:80", got, err)
	}
	if _, err := resolveLoopbackWith(ctx, "none.test:80", fake); err == nil {
		t.Error("a name without addresses was accepted")
	}
	if _, err := resolveLoopback(ctx, "no-such-host.invalid:80"); err == nil {
		t.Error("an unresolvable name was accepted")
	}
}

func TestSourceAddressesAreUsed(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	target := lis.Addr().(*net.TCPAddr).AddrPort()
	d, err := newDialers(target, 3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 6 {
		c, err := d.dialTarget(i, target)(context.Background(), "tcp", "ignored:1")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		srv, err := lis.Accept()
		if err != nil {
			t.Fatal(err)
		}
		host, _, _ := net.SplitHostPort(srv.RemoteAddr().String())
		want := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}[i%3]
		if host != want {
			t.Errorf("connection %d came from %s, want %s", i, host, want)
		}
		seen[host] = true
		_ = c.Close()
		_ = srv.Close()
	}
	if len(seen) != 3 {
		t.Errorf("source addresses used: %v", seen)
	}
	if _, err := newDialers(netipMust(t, "[::1]:80"), 2, time.Second); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("source addresses towards IPv6: %v", err)
	}
}

func TestScheduleSpreadsPublishersEvenly(t *testing.T) {
	t.Parallel()
	const n, rate = 4, 100.0
	var dues []time.Duration
	for k := range n {
		s := schedule{start: time.Second, end: 2 * time.Second, rate: rate, n: n, k: k}
		for i := uint64(0); s.due(i) < s.end; i++ {
			dues = append(dues, s.due(i))
		}
	}
	if len(dues) != int(rate) {
		t.Fatalf("%d messages due in one second at %v/s", len(dues), rate)
	}
	seen := map[time.Duration]bool{}
	for _, d := range dues {
		// Every slot of 10 ms is taken exactly once.
		slot := (d - time.Second) / (10 * time.Millisecond)
		if (d-time.Second)%(10*time.Millisecond) != 0 || seen[slot] {
			t.Fatalf("due time %v is not on a free 10 ms slot", d)
		}
		seen[slot] = true
	}
}

func TestReasonsMaskAddressesAndStayBounded(t *testing.T) {
	t.Parallel()
	var r reasons
	r.add(errors.New("dial tcp 127.0.0.1:40001->127.0.0.1:8080: connect: connection refused"))
	r.add(errors.New("dial tcp 127.0.0.1:40002->127.0.0.1:8080: connect: connection refused"))
	r.add(errors.New("dial tcp [::1]:40003->[::1]:8080: connect: connection refused"))
	m := r.snapshot()
	if len(m) != 1 || m["dial tcp ADDR->ADDR: connect: connection refused"] != 3 {
		t.Fatalf("reasons %v", m)
	}
	if top := r.top(); top != "dial tcp ADDR->ADDR: connect: connection refused (3 of 3)" {
		t.Fatalf("top = %q", top)
	}
	for i := range 3 * maxReasons {
		r.add(errors.New(strings.Repeat("x", i+1)))
	}
	if m := r.snapshot(); len(m) != maxReasons+1 || m["other"] == 0 {
		t.Fatalf("%d distinct reasons kept (other: %d), want %d plus other", len(m), m["other"], maxReasons)
	}
	if r.count() != 3+3*maxReasons {
		t.Fatalf("count %d", r.count())
	}
}

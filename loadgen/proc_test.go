package loadgen

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// Fields 14 and 15 (utime, stime) are 250 and 150 ticks; the command
	// name holds spaces and parentheses.
	stat := "4242 (herald (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 12 0 100 1000000 2500 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 4*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 4s", got, err)
	}
	for _, bad := range []string{"", "4242 no parens", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 11"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
}

func TestParseStatusRSS(t *testing.T) {
	t.Parallel()
	status := "Name:\therald\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nThreads:\t12\n"
	if got, err := parseStatusRSS([]byte(status)); err != nil || got != 51234 {
		t.Fatalf("parseStatusRSS = %d, %v", got, err)
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmRSS:\t12 MB\n", "VmRSS:\tx kB\n"} {
		if _, err := parseStatusRSS([]byte(bad)); err == nil {
			t.Errorf("parseStatusRSS(%q) accepted", bad)
		}
	}
}

func TestReadProc(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "77")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "77 (srv) R 1 1 1 0 -1 0 0 0 0 0 1000 20 0 0 20 0 1 0 1 1 1\n")
	write("status", "Name:\tsrv\nVmRSS:\t2048 kB\n")
	s, err := readProc(root, 77)
	if err != nil || s.CPU != 10200*time.Millisecond || s.RSSKiB != 2048 {
		t.Fatalf("readProc = %+v, %v", s, err)
	}
	if _, err := readProc(root, 78); err == nil {
		t.Fatal("readProc of a missing process succeeded")
	}

	// The real /proc of this process.
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	self, err := ReadProc(os.Getpid())
	if err != nil || self.RSSKiB <= 0 || self.CPU < 0 {
		t.Fatalf("ReadProc(self) = %+v, %v", self, err)
	}
	if _, err := ReadProc(1 << 30); err == nil {
		t.Fatalf("ReadProc of pid %s succeeded", strconv.Itoa(1<<30))
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	stat := "cpu  1000 50 400 9000 30 5 15 0 0 0\ncpu0 500 25 200 4500 15 2 8 0 0 0\ncpu1 500 25 200 4500 15 3 7 0 0 0\nintr 123\nctxt 456\n"
	s, err := parseProcStat([]byte(stat))
	// busy = user+nice+system+irq+softirq+steal = 1000+50+400+5+15+0 ticks.
	if err != nil || s.CPUs != 2 || s.Busy != 14700*time.Millisecond {
		t.Fatalf("parseProcStat = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\ncpu0 1\n", "cpu 1 2 3 x 5 6 7 8\ncpu0 1\n"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
	if _, err := os.Stat("/proc/stat"); err == nil {
		if s, err := ReadSystem(); err != nil || s.CPUs < 1 || s.Busy <= 0 {
			t.Fatalf("ReadSystem = %+v, %v", s, err)
		}
	}
}

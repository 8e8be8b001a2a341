package reload

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func parseInt(contents [][]byte) (int, error) {
	sum := 0
	for _, c := range contents {
		n, err := strconv.Atoi(string(c))
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// write writes content to path with a modification time distinct from
// the previous write's.
func write(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestReloadsOnChangeAfterInterval(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	base := time.Unix(1_700_000_000, 0)
	write(t, a, "1", base)
	write(t, b, "2", base)
	clock := testutil.NewClock(base)
	var errs []error
	v, err := Load([]string{a, b}, parseInt, Options{
		Interval: time.Second, Now: clock.Now,
		OnError: func(err error) { errs = append(errs, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Get(); got != 3 {
		t.Fatalf("Get = %d, want 3", got)
	}

	write(t, b, "20", base.Add(time.Minute))
	if got := v.Get(); got != 3 {
		t.Fatalf("Get within the interval = %d, want the old 3", got)
	}
	clock.Add(time.Second)
	if got := v.Get(); got != 21 {
		t.Fatalf("Get after the interval = %d, want 21", got)
	}

	// A change that does not parse keeps the last good value and is
	// reported once.
	write(t, a, "x", base.Add(2*time.Minute))
	for range 3 {
		clock.Add(time.Second)
		if got := v.Get(); got != 21 {
			t.Fatalf("Get after a bad change = %d, want the last good 21", got)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("errors reported = %v, want exactly one", errs)
	}

	// Fixing the file takes effect.
	write(t, a, "5", base.Add(3*time.Minute))
	clock.Add(time.Second)
	if got := v.Get(); got != 25 {
		t.Fatalf("Get after the fix = %d, want 25", got)
	}

	// A vanished file keeps the value and reports.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if got := v.Get(); got != 25 {
		t.Fatalf("Get after removal = %d, want 25", got)
	}
	clock.Add(time.Second)
	v.Get()
	if len(errs) != 2 || !errors.Is(errs[1], os.ErrNotExist) {
		t.Fatalf("errors = %v, want one not-exist error second, said once", errs)
	}
	// Back again: it is followed, and a later disappearance said again.
	write(t, a, "7", base.Add(4*time.Minute))
	clock.Add(time.Second)
	if got := v.Get(); got != 27 {
		t.Fatalf("Get after the file came back = %d, want 27", got)
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	v.Get()
	if len(errs) != 3 {
		t.Fatalf("errors = %v, want the second disappearance said", errs)
	}
}

func TestLoadFails(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load([]string{filepath.Join(dir, "missing")}, parseInt, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want not-exist", err)
	}
	bad := filepath.Join(dir, "bad")
	write(t, bad, "nope", time.Now())
	if _, err := Load([]string{bad}, parseInt, Options{}); err == nil {
		t.Error("Load of an unparsable file succeeded")
	}
}

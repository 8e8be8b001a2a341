// Package reload keeps a value parsed from files up to date with them:
// TLS certificates, JSON Web Key Sets and API key files are replaced on
// disk while the server runs, and the next use after a change sees them.
//
// There is no goroutine and no file-system watch: Get looks at the files'
// size and modification time at most once per check interval, and parses
// them again when either changed. A change that does not parse keeps the
// last good value and is reported once to the error callback, so that a
// half-written file never takes a running server down. So does a file that
// disappears: removing a key file does not revoke its keys; replace it
// with one that no longer holds them.
package reload

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultInterval is how often Get looks at the files by default.
const DefaultInterval = 5 * time.Second

// Value is a value parsed from one or more files. It is safe for
// concurrent use.
type Value[T any] struct {
	paths    []string
	parse    func(contents [][]byte) (T, error)
	interval time.Duration
	onError  func(error)
	now      func() time.Time

	mu      sync.Mutex
	val     T
	stamps  []stamp
	checked time.Time
	failed  []stamp // the stamps of the last change that did not parse
	missing bool    // the last look could not stat the files (reported)
}

// stamp identifies a version of a file.
type stamp struct {
	size int64
	mod  time.Time
}

// Options tune a Value. Zero fields take their defaults.
type Options struct {
	// Interval is how often Get looks at the files. Default 5s.
	Interval time.Duration
	// OnError receives each change that could not be read or parsed; the
	// previous value stays in use. Default: ignored.
	OnError func(error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Load reads and parses the files at paths, in order, and returns a Value
// that follows them. An error reading or parsing them now is returned:
// a server should not start on files it cannot use.
func Load[T any](paths []string, parse func(contents [][]byte) (T, error), opts Options) (*Value[T], error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &Value[T]{paths: paths, parse: parse, interval: opts.Interval, onError: opts.OnError, now: opts.Now}
	stamps, val, err := v.read()
	if err != nil {
		return nil, err
	}
	v.val, v.stamps, v.checked = val, stamps, v.now()
	return v, nil
}

// Get returns the current value, reloading it first when the files
// changed since the last look and the interval has passed.
func (v *Value[T]) Get() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if now.Sub(v.checked) < v.interval {
		return v.val
	}
	v.checked = now
	stamps, err := v.stat()
	if err != nil {
		// A missing or unreadable file is said once, not at every look.
		if !v.missing {
			v.missing = true
			v.report(nil, err)
		}
		return v.val
	}
	v.missing = false
	if sameStamps(stamps, v.stamps) || sameStamps(stamps, v.failed) {
		return v.val
	}
	stamps, val, err := v.read()
	if err != nil {
		v.report(stamps, err)
		return v.val
	}
	v.val, v.stamps, v.failed = val, stamps, nil
	return v.val
}

// report passes a failed reload to the callback, once per version of the
// files.
func (v *Value[T]) report(stamps []stamp, err error) {
	if stamps != nil {
		v.failed = stamps
	}
	v.onError(err)
}

// stat returns the current stamps of the files.
func (v *Value[T]) stat() ([]stamp, error) {
	stamps := make([]stamp, len(v.paths))
	for i, p := range v.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reload: %w", err)
		}
		stamps[i] = stamp{size: fi.Size(), mod: fi.ModTime()}
	}
	return stamps, nil
}

// read stats, reads and parses the files.
func (v *Value[T]) read() ([]stamp, T, error) {
	var zero T
	stamps, err := v.stat()
	if err != nil {
		return nil, zero, err
	}
	contents := make([][]byte, len(v.paths))
	for i, p := range v.paths {
		if contents[i], err = os.ReadFile(p); err != nil {
			return stamps, zero, fmt.Errorf("reload: %w", err)
		}
	}
	val, err := v.parse(contents)
	if err != nil {
		return stamps, zero, err
	}
	return stamps, val, nil
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for i := range a {
		if a[i].size != b[i].size || !a[i].mod.Equal(b[i].mod) {
			return false
		}
	}
	return true
}

package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadID is returned by ParseID for a string that is not a message id.
var ErrBadID = errors.New("engine: malformed message id")

// ID is a message's position in an engine's single order of messages: an
// epoch that names one continuous history, and a sequence number within it.
//
// Sequence numbers start at 1 and grow by one per accepted message across all
// topics, so one ID resumes a subscription to any number of topics. Seq 0
// is the position before the first message of the epoch: resuming after it
// replays everything the epoch retains. The epoch
// changes when an engine loses its history (an in-memory engine restarts);
// ids of different epochs are not ordered against each other.
//
// The zero ID means "no position". IDs are comparable values.
type ID struct {
	// Epoch identifies the history the sequence belongs to. Never zero in a
	// valid ID.
	Epoch uint64
	// Seq is the position within the epoch: 1 for the first message, 0
	// before it.
	Seq uint64
}

// IsZero reports whether id is the zero ID ("no position").
func (id ID) IsZero() bool { return id == ID{} }

// String formats id as `<epoch in base 36>-<seq in decimal>`, for example
// `mh3k2a9z-42`. The zero ID formats as "". The format is opaque to clients.
func (id ID) String() string {
	if id.IsZero() {
		return ""
	}
	var b [32]byte
	out := strconv.AppendUint(b[:0], id.Epoch, 36)
	out = append(out, '-')
	out = strconv.AppendUint(out, id.Seq, 10)
	return string(out)
}

// AppendText appends the String form of id to b.
func (id ID) AppendText(b []byte) ([]byte, error) {
	if id.IsZero() {
		return b, nil
	}
	b = strconv.AppendUint(b, id.Epoch, 36)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10), nil
}

// Less reports whether id comes before other in the same epoch. It is
// meaningless for ids of different epochs.
func (id ID) Less(other ID) bool { return id.Seq < other.Seq }

// ParseID parses the String form of an ID. The empty string parses as the
// zero ID. Anything else that is not a well-formed id is ErrBadID.
func ParseID(s string) (ID, error) {
	if s == "" {
		return ID{}, nil
	}
	if len(s) > 40 {
		return ID{}, fmt.Errorf("%w: too long", ErrBadID)
	}
	ep, sq, ok := strings.Cut(s, "-")
	if !ok || ep == "" || sq == "" {
		return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	epoch, err := strconv.ParseUint(ep, 36, 64)
	if err != nil || epoch == 0 || strings.ToLower(ep) != ep || ep[0] == '+' || ep[0] == '0' {
		return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	seq, err := strconv.ParseUint(sq, 10, 64)
	if err != nil || sq[0] == '+' || (len(sq) > 1 && sq[0] == '0') {
		return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	return ID{Epoch: epoch, Seq: seq}, nil
}

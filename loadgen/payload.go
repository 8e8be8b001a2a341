package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// Payload header layout: fixed width, printable ASCII only.
//
//	offset  0  "hb"                magic
//	offset  2  run id              6 characters of [0-9a-z]
//	offset  8  '.'
//	offset  9  publisher           3 decimal digits
//	offset 12  '.'
//	offset 13  sequence number     12 decimal digits
//	offset 25  '.'
//	offset 26  send time           16 decimal digits, nanoseconds on the run's clock
//	offset 42  '.'
//
// The rest of the payload, up to its size, is padding from padAlphabet.
const (
	// HeaderLen is the length of the payload header, and so the smallest
	// payload size.
	HeaderLen = 43
	// RunIDLen is the length of a run id.
	RunIDLen = 6
	// MaxPublishers is the largest number of publishers a payload can name.
	MaxPublishers = 999

	magic      = "hb"
	runOff     = 2
	pubOff     = 9
	pubLen     = 3
	seqOff     = 13
	seqLen     = 12
	sentOff    = 26
	sentLen    = 16
	maxSeq     = 999_999_999_999
	maxSentNs  = 9_999_999_999_999_999
	padStart   = HeaderLen
	runIDChars = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// padAlphabet fills a payload after its header: printable, no quote,
// backslash or line break, so that it is the same bytes as an SSE data line
// and inside a JSON string.
const padAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// ErrNotPayload is returned by DecodePayload for data that does not start
// with a well-formed header.
var ErrNotPayload = errors.New("loadgen: not a load generator payload")

// Header is what a payload carries besides its padding.
type Header struct {
	// Run is the id of the run that published it (RunIDLen characters).
	Run string
	// Publisher numbers the publisher, from 0.
	Publisher int
	// Seq is the publisher's sequence number, from 0.
	Seq uint64
	// Sent is the send time, as a duration since the run's start on its
	// monotonic clock.
	Sent time.Duration
}

// EncodePayload writes the header h and padding into dst, which must be at
// least HeaderLen bytes long; the payload is all of dst. It returns an error
// for a header that does not fit its fields.
func EncodePayload(dst []byte, h Header) error {
	switch {
	case len(dst) < HeaderLen:
		return fmt.Errorf("loadgen: payload of %d bytes is shorter than the %d-byte header", len(dst), HeaderLen)
	case !validRunID(h.Run):
		return fmt.Errorf("loadgen: run id %q is not %d characters of [0-9a-z]", h.Run, RunIDLen)
	case h.Publisher < 0 || h.Publisher > MaxPublishers:
		return fmt.Errorf("loadgen: publisher %d out of range 0..%d", h.Publisher, MaxPublishers)
	case h.Seq > maxSeq:
		return fmt.Errorf("loadgen: sequence number %d out of range", h.Seq)
	case h.Sent < 0 || h.Sent > maxSentNs:
		return fmt.Errorf("loadgen: send time %v out of range", h.Sent)
	}
	copy(dst, magic)
	copy(dst[runOff:], h.Run)
	dst[pubOff-1], dst[seqOff-1], dst[sentOff-1], dst[HeaderLen-1] = '.', '.', '.', '.'
	putDigits(dst[pubOff:pubOff+pubLen], uint64(h.Publisher))
	putDigits(dst[seqOff:seqOff+seqLen], h.Seq)
	putDigits(dst[sentOff:sentOff+sentLen], uint64(h.Sent))
	for i := padStart; i < len(dst); i++ {
		dst[i] = padAlphabet[i%len(padAlphabet)]
	}
	return nil
}

// DecodePayload reads the header of a payload. It checks the header only,
// not the padding, and returns ErrNotPayload when it is malformed.
func DecodePayload(p []byte) (Header, error) {
	h, ok := parseHeader(p)
	if !ok {
		return Header{}, ErrNotPayload
	}
	return Header{Run: string(h.run), Publisher: h.publisher, Seq: h.seq, Sent: h.sent}, nil
}

// rawHeader is a parsed header whose run id still points into the payload,
// so that receivers decode without allocating.
type rawHeader struct {
	run       []byte
	publisher int
	seq       uint64
	sent      time.Duration
}

// parseHeader parses the header of p, reporting whether it is well formed.
func parseHeader(p []byte) (rawHeader, bool) {
	if len(p) < HeaderLen || string(p[:runOff]) != magic ||
		p[pubOff-1] != '.' || p[seqOff-1] != '.' || p[sentOff-1] != '.' || p[HeaderLen-1] != '.' {
		return rawHeader{}, false
	}
	run := p[runOff : runOff+RunIDLen]
	pub, ok1 := digits(p[pubOff : pubOff+pubLen])
	seq, ok2 := digits(p[seqOff : seqOff+seqLen])
	sent, ok3 := digits(p[sentOff : sentOff+sentLen])
	if !ok1 || !ok2 || !ok3 || !validRunID(string(run)) {
		return rawHeader{}, false
	}
	return rawHeader{run: run, publisher: int(pub), seq: seq, sent: time.Duration(sent)}, true
}

// putDigits writes v in decimal into dst, zero-padded to its length. v
// must fit.
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// digits parses a fixed-width decimal field.
func digits(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func validRunID[T string | []byte](s T) bool {
	if len(s) != RunIDLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

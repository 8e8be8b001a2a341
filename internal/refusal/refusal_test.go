package refusal

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestStatusAndReason(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{
		Code: codes.ResourceExhausted, Reason: RateLimited,
		Message: "publish rate exceeded", RetryAfter: 1500 * time.Millisecond,
	})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("code = %v, want ResourceExhausted", st.Code())
	}
	if got := Reason(err); got != RateLimited {
		t.Errorf("Reason = %q, want %q", got, RateLimited)
	}
	if got := RetryAfter(err); got != 1500*time.Millisecond {
		t.Errorf("RetryAfter = %v", got)
	}
	var found bool
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			found = ri.GetRetryDelay().AsDuration() == 1500*time.Millisecond
		}
	}
	if !found {
		t.Errorf("status details %v lack RetryInfo of 1.5s", st.Details())
	}
	if Reason(fmt.Errorf("plain")) != "" || RetryAfter(fmt.Errorf("plain")) != 0 {
		t.Error("a plain error must have no reason and no retry delay")
	}
	if got := FromStatus(st); got != RateLimited {
		t.Errorf("FromStatus = %q, want %q", got, RateLimited)
	}
	st = New(codes.Unauthenticated, TokenExpired, "expired").GRPCStatus()
	if len(st.Details()) != 1 || st.Message() != "expired" || FromStatus(st) != TokenExpired {
		t.Errorf("status without retry = %v, details %v", st, st.Details())
	}
	if FromStatus(status.New(codes.Unauthenticated, "x")) != "" {
		t.Error("a status without ErrorInfo has no reason")
	}
}

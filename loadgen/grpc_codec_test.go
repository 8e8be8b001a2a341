package loadgen

import (
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

func TestSubscribeCodec(t *testing.T) {
	t.Parallel()
	now := timestamppb.New(time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC))
	payload := make([]byte, 100)
	if err := EncodePayload(payload, Header{Run: "abcdef", Publisher: 2, Seq: 7, Sent: 99}); err != nil {
		t.Fatal(err)
	}
	frames := []*heraldv1.SubscribeResponse{
		{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{
			Topic: "bench", Id: "e-42", Data: payload, ContentType: "text/plain", Event: "x", PublishTime: now}}},
		{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{Topic: "bench", Id: "e-43"}}},
		{Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{Time: now}}},
		{Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: &heraldv1.Subscribed{
			Topics: []string{"bench"}, CurrentId: "e-0", HeartbeatInterval: durationpb.New(15 * time.Second)}}},
		{Frame: &heraldv1.SubscribeResponse_HistoryGap{HistoryGap: &heraldv1.HistoryGap{Topics: []string{"bench"}}}},
	}
	var codec subscribeCodec
	for _, f := range frames {
		wire, err := codec.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var got heraldv1.SubscribeResponse
		got.Frame = &heraldv1.SubscribeResponse_Heartbeat{} // overwritten
		if err := codec.Unmarshal(wire, &got); err != nil {
			t.Fatalf("Unmarshal(%v): %v", f, err)
		}
		wire.Free()
		if m := f.GetMessage(); m != nil {
			// Only the data is decoded, and it is the payload, byte for byte.
			if string(got.GetMessage().GetData()) != string(m.GetData()) || got.GetMessage().GetTopic() != "" {
				t.Errorf("message frame decoded as %v", &got)
			}
			continue
		}
		if !proto.Equal(&got, f) {
			t.Errorf("frame %v decoded as %v", f, &got)
		}
	}
	// Bytes that are not a lone message frame go through proto, which
	// reports what is wrong.
	var got heraldv1.SubscribeResponse
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05, 0x1a})}, &got); err == nil {
		t.Error("a truncated frame was accepted")
	}
	if _, err := codec.Marshal("not a message"); err == nil {
		t.Error("Marshal accepted a string")
	}
	if name := codec.Name(); name != "proto" {
		t.Errorf("Name = %q", name)
	}
}

func TestMessageFrameData(t *testing.T) {
	t.Parallel()
	msg := func(m *heraldv1.Message) []byte {
		b, err := proto.Marshal(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Message{Message: m}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if d, ok := messageFrameData(msg(&heraldv1.Message{Topic: "t", Data: []byte("hello"), Id: "1"})); !ok || string(d) != "hello" {
		t.Errorf("got %q, %v", d, ok)
	}
	if d, ok := messageFrameData(msg(&heraldv1.Message{Topic: "t"})); !ok || d != nil {
		t.Errorf("empty data: got %q, %v", d, ok)
	}
	b := msg(&heraldv1.Message{Data: []byte("x")})
	for name, bad := range map[string][]byte{
		"empty":          nil,
		"trailing bytes": append(append([]byte(nil), b...), 0x08, 0x01),
		"truncated":      b[:len(b)-1],
		"another frame":  {0x12, 0x00},
	} {
		if _, ok := messageFrameData(bad); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

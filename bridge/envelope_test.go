package bridge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
)

func TestAppendEnvelope(t *testing.T) {
	t.Parallel()
	m := &engine.Message{
		ID: engine.ID{Epoch: 35, Seq: 42}, Topic: "news", Data: []byte("a <b>\n\"c\" \u2028"),
		Time: time.Date(2026, 11, 21, 14, 19, 46, 418e6, time.FixedZone("X", 3600)),
	}
	got := string(AppendEnvelope([]byte("prefix "), m, ""))
	want := `prefix {"topic":"news","id":"z-42","data":"a <b>\n\"c\" \u2028","publish_time":"2026-11-21T13:19:46.418Z"}`
	if got != want {
		t.Fatalf("envelope\n%s, want\n%s", got, want)
	}
	if strings.ContainsAny(got, "\r\n") {
		t.Fatal("envelope spans lines")
	}

	m.Data, m.ContentType, m.Event = []byte{0xff, 0}, "application/octet-stream", "bin"
	var env struct {
		Type        string  `json:"type"`
		Data        *string `json:"data"`
		DataBase64  []byte  `json:"data_base64"`
		ContentType string  `json:"content_type"`
		Event       string  `json:"event"`
	}
	if err := json.Unmarshal(AppendEnvelope(nil, m, "message"), &env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "message" || env.Data != nil || string(env.DataBase64) != "\xff\x00" ||
		env.ContentType != "application/octet-stream" || env.Event != "bin" {
		t.Fatalf("binary envelope %+v", env)
	}
}

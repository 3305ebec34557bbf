package recordings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
)

func TestBlobsAreContentAddressed(t *testing.T) {
	dir := t.TempDir()
	b, err := openBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("ID3 some audio")
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])
	for range 2 { // equal content: one file
		got, n, err := b.write(bytes.NewReader(content), 100, "audio/mpeg")
		if err != nil || got != want || n != int64(len(content)) {
			t.Fatalf("write = %s, %d, %v; want %s", got, n, err, want)
		}
	}
	path := filepath.Join(dir, want[:2], want+".mp3")
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read %s: %q, %v", path, got, err)
	}
	if _, _, err := b.write(bytes.NewReader(content), int64(len(content)-1), "audio/mpeg"); !errors.Is(err, errTooLarge) {
		t.Errorf("write over the limit: %v, want errTooLarge", err)
	}
	if _, err := b.path("../../etc/passwd", "audio/mpeg"); err == nil {
		t.Error("path accepted a hash that is not one")
	}

	// A crash between create and rename leaves a temporary file; reopening removes it.
	if err := os.WriteFile(filepath.Join(dir, tmpPrefix+"123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openBlobs(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*"))
	if len(left) != 0 {
		t.Errorf("temporary files after reopen: %v", left)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("reopen removed a stored file: %v", err)
	}
}

func TestAudioType(t *testing.T) {
	wav := readFile(t, "tone.wav")
	tests := []struct {
		header string
		head   []byte
		want   string
		ok     bool
	}{
		{"audio/mpeg", mp3, "audio/mpeg", true},
		{"Audio/MPEG; charset=binary", nil, "audio/mpeg", true},
		{"application/octet-stream", wav, "audio/wave", true},
		{"binary/octet-stream", mp3, "audio/mpeg", true},
		{"application/octet-stream", []byte{1, 2, 3}, "application/octet-stream", true},
		{"", []byte("OggS\x00\x02"), "audio/ogg", true},
		{"", []byte{0, 1, 2, 3}, "application/octet-stream", true},
		{"", []byte("<!DOCTYPE html><html>"), "", false},
		{"", []byte(`{"status":"error"}`), "", false},
		{"text/html", mp3, "", false},
		{"application/json", nil, "", false},
		{"video/mp4", nil, "", false},
		{"audio/", nil, "", false},
	}
	for _, tt := range tests {
		got, ok := audioType(tt.header, tt.head)
		if got != tt.want || ok != tt.ok {
			t.Errorf("audioType(%q, %.8q) = %q, %v; want %q, %v", tt.header, tt.head, got, ok, tt.want, tt.ok)
		}
	}
}

// notifySink passes batches to the store and tells the test.
type notifySink struct {
	s       *Store
	written chan int
}

func (n notifySink) Write(ctx context.Context, recs []spool.Record) error {
	err := n.s.Write(ctx, recs)
	if err == nil {
		n.written <- len(recs)
	}
	return err
}

// TestConsumesTheSpool runs the store as the "recordings" consumer of a real
// spool: its cursor advances past events with and without recordings.
func TestConsumesTheSpool(t *testing.T) {
	sp, err := spool.Open(spool.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	env := newEnv(t, nil)
	events := []call.Event{
		{Provider: "zadarma", CallID: "in_1", EventKey: "NOTIFY_START", ReceivedAt: t0},
		refEvent("zadarma", "in_1", "1715671265.2871034"),
		urlEvent("c-1", "https://rec.example.com/c-1.mp3"),
	}
	for _, rec := range records(t, events...) {
		if _, err := sp.Append(context.Background(), rec.Data); err != nil {
			t.Fatal(err)
		}
	}
	r, err := sp.Reader("recordings")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sink := notifySink{s: env.s, written: make(chan int, 1)}
	go func() { done <- spool.Consume(ctx, r, sink, spool.ConsumeOptions{MaxBatch: len(events)}) }()
	if n := <-sink.written; n != len(events) {
		t.Errorf("batch of %d, want %d", n, len(events))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if p := env.pending(t); len(p) != 2 {
		t.Errorf("pending = %d jobs, want 2", len(p))
	}
	if c := r.Committed(); c != uint64(len(events)) {
		t.Errorf("cursor at %d, want %d", c, len(events))
	}
}

package simulate

import (
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRecordingServer(t *testing.T) {
	srv := httptest.NewServer(RecordingServer())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/rec/sim1-42.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body[:4]) != "RIFF" || string(body[8:12]) != "WAVE" || int(binary.LittleEndian.Uint32(body[4:8])) != len(body)-8 {
		t.Errorf("not a well-formed WAV file (%d bytes)", len(body))
	}
	if r, _ := http.Get(srv.URL + "/etc/passwd"); r.StatusCode != http.StatusNotFound {
		t.Errorf("other paths: %d, want 404", r.StatusCode)
	}
}

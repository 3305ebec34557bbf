package simulate

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"time"
)

// RecordingServer serves a short WAV file for every /rec/<call id>.wav, the
// way a PBX serves call recordings, so that a demo exercises the recording
// fetcher end to end. Mount it on a loopback listener and pass its URL as
// Options.RecordingBaseURL.
func RecordingServer() http.Handler {
	wav := silence(8000, 2) // two seconds of 8 kHz mono silence, like a phone line
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/rec/") || !strings.HasSuffix(r.URL.Path, ".wav") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "recording.wav", time.Time{}, bytes.NewReader(wav))
	})
}

// silence is a PCM WAV file of n seconds of silence at the given rate.
func silence(rate, seconds int) []byte {
	data := make([]byte, rate*seconds*2) // 16-bit samples
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(rate))
	le(uint32(rate * 2))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

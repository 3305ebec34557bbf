package recordings

import (
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"
)

// A response's write deadline: the server's WriteTimeout (60 s) suits JSON
// answers, not a 100 MiB recording on a slow link. A recording gets
// serveBaseTime plus its size at serveMinRate, so that a listener on a slow
// connection (256 kbit/s) gets the whole file while a stalled one is still
// cut off in bounded time.
const (
	serveBaseTime = time.Minute
	serveMinRate  = 32 << 10 // bytes per second
)

// serveTime is the time a response of size bytes may take.
func serveTime(size int64) time.Duration {
	return serveBaseTime + time.Duration(size/serveMinRate)*time.Second
}

// Handler serves stored recordings:
//
//	GET /api/v1/recordings/{provider}/{call_id}
//
// answers with the audio file and its content type, honouring Range and
// conditional requests (the ETag is the file's SHA-256), or 404 if the call
// has no stored recording. A call id containing "/" may be sent as is or
// escaped as %2F. Mount it under /api/v1/recordings/ behind the API token
// check; the handler itself does no authentication.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/recordings/{provider}/{call_id...}", s.serveRecording)
	return mux
}

func (s *Store) serveRecording(w http.ResponseWriter, r *http.Request) {
	provider, callID := r.PathValue("provider"), r.PathValue("call_id")
	if provider == "" || callID == "" {
		writeError(w, http.StatusNotFound, "no recording for this call")
		return
	}
	rec, found, err := s.opts.Catalog.Recording(r.Context(), provider, callID)
	if err != nil {
		s.log.Error("look up recording", "provider", provider, "call_id", callID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "recording lookup failed; see the daemon log")
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "no recording for this call")
		return
	}
	path, err := s.blobs.path(rec.SHA256, rec.ContentType)
	var f *os.File
	if err == nil {
		f, err = os.Open(path)
	}
	if err != nil {
		// The catalog names a file that is not there: deleted by hand, or a
		// different recordings directory. Say so rather than pretend 404.
		msg := "recording file is unreadable"
		if errors.Is(err, fs.ErrNotExist) {
			msg = "recording file is missing"
		}
		s.log.Error(msg, "provider", provider, "call_id", callID, "sha256", rec.SHA256, "err", err)
		writeError(w, http.StatusInternalServerError, msg+"; see the daemon log")
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		// Not supported by every ResponseWriter (test recorders); the
		// server's own timeout applies then.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(serveTime(fi.Size())))
	}
	h := w.Header()
	h.Set("Content-Type", rec.ContentType)
	h.Set("ETag", `"`+rec.SHA256+`"`)
	h.Set("Cache-Control", "private, no-cache") // a re-fetch may replace it: revalidate by ETag
	h.Set("X-Content-Type-Options", "nosniff")
	if cd := mime.FormatMediaType("inline", map[string]string{"filename": fileName(provider, callID, rec.ContentType)}); cd != "" {
		h.Set("Content-Disposition", cd)
	}
	http.ServeContent(w, r, "", rec.FetchedAt, f)
}

// fileName suggests a download name: provider-callid.ext, with characters
// that are awkward in file names replaced.
func fileName(provider, callID, contentType string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, provider+"-"+callID)
	return clean + extension(contentType)
}

// writeError answers like the rest of the API: {"error": "..."}.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

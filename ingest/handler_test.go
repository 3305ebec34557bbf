package ingest

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestWriteAcceptedIsWriteJSON: the hand-written success answer is byte for
// byte what writeJSON writes.
func TestWriteAcceptedIsWriteJSON(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		if code := writeAccepted(got, n); code != http.StatusOK {
			t.Errorf("writeAccepted returned %d", code)
		}
		writeJSON(want, http.StatusOK, map[string]int{"accepted": n})
		if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Errorf("n=%d: writeAccepted %d %v %q, writeJSON %d %v %q", n,
				got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}

package zadarma

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"strings"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Notification names (the "event" form field).
const (
	eventStart    = "NOTIFY_START"
	eventIVR      = "NOTIFY_IVR"
	eventInternal = "NOTIFY_INTERNAL"
	eventAnswer   = "NOTIFY_ANSWER"
	eventEnd      = "NOTIFY_END"
	eventOutStart = "NOTIFY_OUT_START"
	eventOutEnd   = "NOTIFY_OUT_END"
	eventRecord   = "NOTIFY_RECORD"
)

// kind describes one notification type: the form fields its Signature
// covers, concatenated in this order (spec §1.3), and the call direction its
// family implies.
type kind struct {
	name      string
	signed    []string
	direction call.Direction
}

var kinds = map[string]kind{
	eventStart:    {eventStart, []string{"caller_id", "called_did", "call_start"}, call.DirectionInbound},
	eventIVR:      {eventIVR, []string{"caller_id", "called_did", "call_start"}, call.DirectionInbound},
	eventInternal: {eventInternal, []string{"caller_id", "called_did", "call_start"}, call.DirectionInbound},
	eventAnswer:   {eventAnswer, []string{"caller_id", "destination", "call_start"}, call.DirectionInbound},
	eventEnd:      {eventEnd, []string{"caller_id", "called_did", "call_start"}, call.DirectionInbound},
	eventOutStart: {eventOutStart, []string{"internal", "destination", "call_start"}, call.DirectionOutbound},
	eventOutEnd:   {eventOutEnd, []string{"internal", "destination", "call_start"}, call.DirectionOutbound},
	eventRecord:   {eventRecord, []string{"pbx_call_id", "call_id_with_rec"}, call.DirectionUnknown},
}

// lookupKind returns the kind of a notification, or a 400 for a missing,
// repeated or unknown event.
func lookupKind(form url.Values) (kind, error) {
	vs := form["event"]
	switch {
	case len(vs) == 0 || vs[0] == "":
		return kind{}, ingest.BadRequest("event", "required")
	case len(vs) > 1:
		return kind{}, ingest.BadRequest("event", "repeated")
	}
	k, ok := kinds[vs[0]]
	if !ok {
		return kind{}, ingest.BadRequest("event", "unknown event; want one of NOTIFY_START, NOTIFY_IVR, NOTIFY_INTERNAL, "+
			"NOTIFY_ANSWER, NOTIFY_END, NOTIFY_OUT_START, NOTIFY_OUT_END, NOTIFY_RECORD")
	}
	return k, nil
}

// signedString concatenates the signed fields of a notification, as
// received (URL-decoded, untrimmed), with no separator.
func (k kind) signedString(form url.Values) string {
	var b strings.Builder
	for _, f := range k.signed {
		b.WriteString(form.Get(f))
	}
	return b.String()
}

// verify checks the Signature header of a notification: missing is a 401,
// present but wrong is a 403. The comparison is constant-time.
func (k kind) verify(form url.Values, header string, secret []byte) error {
	got := strings.TrimSpace(header)
	if got == "" {
		return ingest.Unauthorized("missing Signature header (generate an API key and secret in the Zadarma account)")
	}
	want := sign(secret, k.signedString(form))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ingest.Forbidden("Signature does not match")
	}
	return nil
}

// sign is Zadarma's signature encoding for notifications and API requests:
// base64 of the lowercase hex of HMAC-SHA1(secret, msg). Note that the hex
// string, not the raw digest, is base64-encoded.
func sign(secret []byte, msg string) string {
	m := hmac.New(sha1.New, secret)
	_, _ = io.WriteString(m, msg)
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

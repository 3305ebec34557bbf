package mango

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"

	"github.com/callpulse/callpulse/ingest"
)

// Form field names of every Mango notification and API request.
const (
	fieldKey  = "vpbx_api_key"
	fieldSign = "sign"
	fieldJSON = "json"
	// fieldData is read when json is absent, as the vendor-recommended JS
	// SDK does (Helpers.parser: body.json || body.data).
	fieldData = "data"
)

// form is the decoded body of a notification.
type form struct {
	key, sign, payload string
	hasKey, hasSign    bool
	payloadField       string // fieldJSON or fieldData, "" when absent
}

// anonymous reports whether the request carries no credentials at all.
func (f form) anonymous() bool { return !f.hasKey && !f.hasSign }

// readForm decodes an application/x-www-form-urlencoded body. A missing
// Content-Type is tolerated; any other media type is refused with 415.
// Each of the signed fields may occur at most once, so that what we verify
// is what we read.
func readForm(r *http.Request, body []byte) (form, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return form{}, &ingest.Error{Status: http.StatusUnsupportedMediaType,
				Msg: "Content-Type must be application/x-www-form-urlencoded"}
		}
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return form{}, ingest.BadRequest("", "malformed form body")
	}
	var f form
	for _, name := range []string{fieldKey, fieldSign, fieldJSON, fieldData} {
		if len(values[name]) > 1 {
			return form{}, ingest.BadRequest(name, "sent more than once")
		}
	}
	f.key, f.hasKey = first(values, fieldKey)
	f.sign, f.hasSign = first(values, fieldSign)
	if v, ok := first(values, fieldJSON); ok {
		f.payload, f.payloadField = v, fieldJSON
		if _, both := values[fieldData]; both {
			return form{}, ingest.BadRequest(fieldData, "sent together with json")
		}
	} else if v, ok := first(values, fieldData); ok {
		f.payload, f.payloadField = v, fieldData
	}
	return f, nil
}

func first(v url.Values, name string) (string, bool) {
	vs, ok := v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// authenticate checks that the notification is for our VPBX and signed with
// our salt, and returns its JSON payload. Missing credentials are 401;
// present but wrong ones (a foreign key, a bad sign) are 403. A missing
// payload is reported only to senders that signed their request.
func (p *Provider) authenticate(f form) (string, error) {
	switch {
	case !f.hasKey || f.key == "":
		return "", ingest.Unauthorized("missing vpbx_api_key")
	case !f.hasSign || f.sign == "":
		return "", ingest.Unauthorized("missing sign")
	}
	// Comparing digests keeps the comparison constant-time regardless of
	// the length of the key sent.
	want, got := sha256.Sum256([]byte(p.key)), sha256.Sum256([]byte(f.key))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return "", ingest.Forbidden("vpbx_api_key is not this VPBX's key")
	}
	sent, err := hex.DecodeString(f.sign)
	mac := signature(p.key, f.payload, p.salt)
	if err != nil || subtle.ConstantTimeCompare(sent, mac[:]) != 1 {
		return "", ingest.Forbidden("sign does not match (check the API salt)")
	}
	if f.payloadField == "" {
		return "", ingest.BadRequest(fieldJSON, "required")
	}
	return f.payload, nil
}

// Sign returns the lowercase hex signature of payload with the given key
// and salt, as Mango computes it for notifications and API requests:
// hex(SHA-256(key + payload + salt)), payload byte for byte as sent.
func Sign(key, salt, payload string) string {
	sum := signature(key, payload, salt)
	return hex.EncodeToString(sum[:])
}

func signature(key, payload, salt string) [sha256.Size]byte {
	return sha256.Sum256([]byte(key + payload + salt))
}

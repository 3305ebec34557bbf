package gravitel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/callpulse/callpulse/ingest"
)

// Field limits. Anything longer is not a value the PBX sends.
const (
	maxIDLen      = 200
	maxManagerLen = 64
	maxURLLen     = 2048
	// maxFormMemory bounds a multipart form; the body itself is already
	// bounded by the ingest handler.
	maxFormMemory = 1 << 20
)

// form is the request's fields. The PBX sends
// application/x-www-form-urlencoded (🟡); multipart/form-data is read too,
// since both are what an HTTP client means by "a form".
type form url.Values

// readForm decodes the body. A body that cannot be decoded still yields
// the fields read before the problem, so that the caller can authenticate
// before it reports the problem.
func readForm(contentType string, body []byte) (form, error) {
	if mt, params, err := mime.ParseMediaType(contentType); err == nil && mt == "multipart/form-data" {
		return readMultipart(body, params["boundary"])
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return form(v), ingest.BadRequest("", "malformed form body: want application/x-www-form-urlencoded")
	}
	return form(v), nil
}

func readMultipart(body []byte, boundary string) (form, error) {
	bad := ingest.BadRequest("", "malformed multipart/form-data body")
	if boundary == "" {
		return form{}, bad
	}
	mf, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxFormMemory)
	if err != nil {
		return form{}, bad
	}
	defer mf.RemoveAll()
	return form(mf.Value), nil
}

// get returns the first value of a field, trimmed; "" if absent.
func (f form) get(name string) string {
	return strings.TrimSpace(url.Values(f).Get(name))
}

// callID returns the required callid.
func (f form) callID() (string, error) {
	id := f.get("callid")
	switch {
	case id == "":
		return "", ingest.BadRequest("callid", "required")
	case len(id) > maxIDLen:
		return "", ingest.BadRequest("callid", "longer than %d bytes", maxIDLen)
	case !printable(id):
		return "", ingest.BadRequest("callid", "contains non-printable characters")
	}
	return id, nil
}

// manager identifies the PBX user on the call by login (`user`), the
// identity every command carries and the one the PBX accepts back as
// `responsible`; by extension (`ext`) only when there is no login.
func (f form) manager() (string, error) {
	for _, field := range []string{"user", "ext"} {
		v := f.get(field)
		if v == "" {
			continue
		}
		if len(v) > maxManagerLen || !printable(v) {
			return "", ingest.BadRequest(field, "want at most %d printable bytes", maxManagerLen)
		}
		return v, nil
	}
	return "", nil
}

// phone returns an optional phone field in E.164; "" if absent or empty
// (a hidden caller id). A value that is not a phone number is refused; the
// message never echoes it.
func (f form) phone(field string, norm Normalizer) (string, error) {
	v := f.get(field)
	if v == "" {
		return "", nil
	}
	e164, err := norm.Normalize(v)
	if err != nil {
		return "", ingest.BadRequest(field, "not a valid phone number")
	}
	return e164, nil
}

// digest identifies the values of the given fields, so that an exact
// re-delivery gets the same event key and any difference a new one. The
// token is never among the fields.
func (f form) digest(fields ...string) string {
	var buf []byte
	for _, name := range fields {
		v := f.get(name)
		// Length-prefixed, so that no two different forms encode alike.
		buf = binary.AppendUvarint(buf, uint64(len(name)))
		buf = append(buf, name...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:8])
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

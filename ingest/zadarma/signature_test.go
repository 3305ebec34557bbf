package zadarma

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"testing"
)

// TestSpecSignatureVectors checks the webhook test vectors of spec §1.3 and
// §1.5 verbatim (secret 1a2b3c4d5e6f7a8b9c0d).
func TestSpecSignatureVectors(t *testing.T) {
	tests := []struct {
		name string
		body string // as on the wire
		msg  string // the string to sign, from the spec
		want string
	}{
		{
			name: "NOTIFY_START (§1.3)",
			body: "event=NOTIFY_START&call_start=2024-05-14+10%3A21%3A05&pbx_call_id=in_4b0a5e8c3f0d2a7e9b1c6d5f4e3a2b1c0d9e8f7a&caller_id=%2B79161234567&called_did=74951234567",
			msg:  "+79161234567749512345672024-05-14 10:21:05",
			want: "NmQ5NjY5Zjc4YTQ2NDMyZGI3MzM2ZjkyZGRlZGY5YmU1MTVlMzViYw==",
		},
		{
			name: "NOTIFY_RECORD (§1.5)",
			body: "event=NOTIFY_RECORD&pbx_call_id=in_4b0a5e8c3f0d2a7e9b1c6d5f4e3a2b1c0d9e8f7a&call_id_with_rec=1715671265.2871034",
			msg:  "in_4b0a5e8c3f0d2a7e9b1c6d5f4e3a2b1c0d9e8f7a1715671265.2871034",
			want: "MzZjMDRjZTRiZDlkYWIzZjM0MGViMWMxM2U2Y2Y5ZmJkNGIzN2U3Zg==",
		},
		{
			name: "NOTIFY_OUT_START (§1.5)",
			body: "event=NOTIFY_OUT_START&call_start=2024-05-14 11:02:40&pbx_call_id=out_9c8b7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b&internal=101&destination=79161234567",
			msg:  "101791612345672024-05-14 11:02:40",
			want: "YzA3N2UwODFmNjBiNDc3MjgzMjBjNjU3N2E1Zjk4OWNkMmYwMjEwMQ==",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sign([]byte(testSecret), tt.msg); got != tt.want {
				t.Errorf("sign(%q) = %s, want %s", tt.msg, got, tt.want)
			}
			form, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			k, err := lookupKind(form)
			if err != nil {
				t.Fatal(err)
			}
			if got := k.signedString(form); got != tt.msg {
				t.Errorf("signed string %q, want %q", got, tt.msg)
			}
			if err := k.verify(form, tt.want, []byte(testSecret)); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

// TestSpecHexDigest pins the intermediate value of §1.3: the hex digest,
// not the raw digest, is base64-encoded.
func TestSpecHexDigest(t *testing.T) {
	const hexDigest = "6d9669f78a46432db7336f92ddedf9be515e35bc"
	got := sign([]byte(testSecret), "+79161234567749512345672024-05-14 10:21:05")
	if want := "NmQ5NjY5Zjc4YTQ2NDMyZGI3MzM2ZjkyZGRlZGY5YmU1MTVlMzViYw=="; got != want {
		t.Fatalf("got %s, want %s (base64 of %s)", got, want, hexDigest)
	}
}

// TestSpecAPISigningVector checks the API signing vector of spec §1.6.
func TestSpecAPISigningVector(t *testing.T) {
	params := url.Values{"call_id": {"1715671265.2871034"}, "lifetime": {"3600"}, "format": {"json"}}
	query := phpQuery(params)
	if want := "call_id=1715671265.2871034&format=json&lifetime=3600"; query != want {
		t.Fatalf("query %q, want %q", query, want)
	}
	if sum := md5.Sum([]byte(query)); hex.EncodeToString(sum[:]) != "aaf9fdf62101e29396e66bdda711e69f" {
		t.Errorf("md5 %x, want aaf9fdf62101e29396e66bdda711e69f", sum)
	}
	const want = "N2I4ODc2ZTU0Y2FmNjA5NWI5YTkwOTdlNWUwMTllYzQ5MDFhYTQzYw=="
	if got := apiSignature([]byte(testSecret), "/v1/pbx/record/request/", query); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestPHPURLEncode(t *testing.T) {
	tests := map[string]string{
		"1715671265.2871034": "1715671265.2871034",
		"a b":                "a+b",
		"a~b":                "a%7Eb", // url.QueryEscape keeps "~"; PHP urlencode does not
		"+7 (916)":           "%2B7+%28916%29",
		"a-b_c.d":            "a-b_c.d",
		"ё":                  "%D1%91",
	}
	for in, want := range tests {
		if got := phpURLEncode(in); got != want {
			t.Errorf("phpURLEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

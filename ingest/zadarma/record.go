package zadarma

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
)

// ErrNotReady means the recording cannot be located yet and Locate should be
// called again later: Zadarma says the record is not there (it needs about
// 40 s after the call to save it), or the API is rate-limiting or failing
// (HTTP 429 or 5xx). Test with errors.Is.
var ErrNotReady = errors.New("zadarma recording not ready")

// ErrNoAPIKey means Options.APIKey is empty, so recordings cannot be
// requested. It is permanent until the configuration changes.
var ErrNoAPIKey = errors.New("zadarma API key not configured (set CALLPULSE_ZADARMA_API_KEY)")

// LinkLifetime is the lifetime requested for download links (Zadarma allows
// 180 s to 60 days).
const LinkLifetime = time.Hour

// recordMethod is the API method path, signed as is (spec §1.6).
const recordMethod = "/v1/pbx/record/request/"

// maxAPIResponse bounds the API response read.
const maxAPIResponse = 1 << 20

// Locate returns the request that downloads the recording of e (e.RecordingRef
// set). It may call the provider API through client.
//
// It asks GET {APIURL}/v1/pbx/record/request/?call_id=<RecordingRef> for a
// temporary link and returns an unauthenticated GET of that link, bound to
// ctx. Errors wrap ErrNotReady when a later attempt may succeed, ErrNoAPIKey
// without an API key; transport errors are returned wrapped as they are. A
// nil client means http.DefaultClient.
func (p *Provider) Locate(ctx context.Context, client *http.Client, e call.Event) (*http.Request, error) {
	if e.Provider != Name || e.RecordingRef == "" {
		return nil, fmt.Errorf("locate zadarma recording of call %q: event of provider %q without a zadarma recording ref",
			e.CallID, e.Provider)
	}
	if p.apiKey == "" {
		return nil, fmt.Errorf("locate zadarma recording of call %q: %w", e.CallID, ErrNoAPIKey)
	}
	if client == nil {
		client = http.DefaultClient
	}
	params := url.Values{
		"call_id":  {e.RecordingRef},
		"lifetime": {strconv.Itoa(int(LinkLifetime / time.Second))},
	}
	req, err := p.apiRequest(ctx, recordMethod, params)
	if err != nil {
		return nil, fmt.Errorf("locate zadarma recording of call %q: %w", e.CallID, err)
	}
	link, err := fetchLink(client, req)
	if err != nil {
		return nil, fmt.Errorf("locate zadarma recording of call %q: %w", e.CallID, err)
	}
	dl, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("locate zadarma recording of call %q: download request: %w", e.CallID, err)
	}
	return dl, nil
}

// apiRequest builds a signed GET of an API method (spec §1.6): format=json
// is added, the parameters are sorted by key and encoded like PHP's
// http_build_query (RFC 1738), and the Authorization header is
// "<user key>:" + base64(hex(HMAC-SHA1(secret, method+query+md5hex(query)))).
// The query sent is exactly the query signed.
func (p *Provider) apiRequest(ctx context.Context, method string, params url.Values) (*http.Request, error) {
	params.Set("format", "json")
	query := phpQuery(params)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.apiURL+method+"?"+query, nil)
	if err != nil {
		return nil, fmt.Errorf("build API request: %w", err)
	}
	req.Header.Set("Authorization", p.apiKey+":"+apiSignature(p.secret, method, query))
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// apiSignature signs an API call.
func apiSignature(secret []byte, method, query string) string {
	sum := md5.Sum([]byte(query))
	return sign(secret, method+query+hex.EncodeToString(sum[:]))
}

// phpQuery encodes params sorted by key (PHP ksort) as
// http_build_query(..., PHP_QUERY_RFC1738) does.
func phpQuery(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range params[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(phpURLEncode(k))
			b.WriteByte('=')
			b.WriteString(phpURLEncode(v))
		}
	}
	return b.String()
}

// phpURLEncode is PHP's urlencode: letters, digits and "-_." are kept, space
// becomes "+", every other byte "%XX" (unlike url.QueryEscape, "~" is
// escaped too).
func phpURLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// recordResponse is the pbx/record/request answer.
type recordResponse struct {
	Status       string   `json:"status"`
	Link         string   `json:"link"`
	Links        []string `json:"links"`
	LifetimeTill string   `json:"lifetime_till"`
	Message      string   `json:"message"`
}

// fetchLink calls pbx/record/request and returns the download link.
func fetchLink(client *http.Client, req *http.Request) (string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("call pbx/record/request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return "", fmt.Errorf("read pbx/record/request response: %w", err)
	}
	return parseRecordResponse(resp.StatusCode, body)
}

// parseRecordResponse applies the SDK's rule (status "error" or HTTP >= 400
// is an error) and picks link, or the first of links.
func parseRecordResponse(code int, body []byte) (string, error) {
	var r recordResponse
	jsonErr := json.Unmarshal(body, &r)
	if code >= 400 || r.Status == "error" {
		err := fmt.Errorf("pbx/record/request: HTTP %d: %s", code, apiMessage(r.Message, jsonErr))
		if code == http.StatusTooManyRequests || code >= 500 || notThereYet(r.Message) {
			err = fmt.Errorf("%w: %w", ErrNotReady, err)
		}
		return "", err
	}
	if jsonErr != nil {
		return "", fmt.Errorf("pbx/record/request: HTTP %d: response is not JSON", code)
	}
	if r.Status != "success" {
		return "", fmt.Errorf("pbx/record/request: unexpected status %q", truncate(r.Status))
	}
	link := r.Link
	if link == "" && len(r.Links) > 0 {
		link = r.Links[0]
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("pbx/record/request: success without an absolute http(s) link")
	}
	return link, nil
}

// notThereYet reports whether an API error message says the record does not
// exist (yet). Zadarma's wording is not documented, so this is a heuristic;
// the caller bounds its retries.
func notThereYet(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"not found", "not exist", "doesn't exist", "not ready", "not yet",
		"no record", "processing", "try again", "try later", "too many"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func apiMessage(msg string, jsonErr error) string {
	switch {
	case msg != "":
		return truncate(msg)
	case jsonErr != nil:
		return "response is not JSON"
	}
	return "no message"
}

// truncate bounds and sanitises provider text put into errors.
func truncate(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

package bitrix24

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// Bitrix24 error codes the client acts on (§6.6, §6.2–6.4).
const (
	codeExpiredToken      = "expired_token"
	codeWrongAuthType     = "WRONG_AUTH_TYPE"
	codeQueryLimit        = "QUERY_LIMIT_EXCEEDED"
	codeOperationLimit    = "OPERATION_TIME_LIMIT"
	codeOverload          = "OVERLOAD_LIMIT"
	codeInternal          = "INTERNAL_SERVER_ERROR"
	codeCore              = "ERROR_CORE"
	maxDescriptionLen     = 200
	notFinishedYetMessage = "not finished yet"
)

// retryableCodes are transient whatever the HTTP status: the leaky bucket,
// the per-method time budget, a (temporary) overload block and server
// errors.
var retryableCodes = map[string]bool{
	codeQueryLimit:     true,
	codeOperationLimit: true,
	codeOverload:       true,
	codeInternal:       true,
}

// classify turns a Bitrix24 error answer into a *crmsync.Error:
//
//   - QUERY_LIMIT_EXCEEDED (503), OPERATION_TIME_LIMIT (429, RetryAfter from
//     time.operating_reset_at), OVERLOAD_LIMIT, 408, 429 and 5xx are
//     retryable, with RetryAfter from the Retry-After header when given;
//   - ERROR_CORE "… not finished yet" from attachRecord is retryable: the
//     call's finish has not been processed yet (§6.4);
//   - everything else (WRONG_AUTH_TYPE, INVALID_ARGUMENT, ERROR_CORE,
//     NO_AUTH_FOUND, insufficient_scope, other 4xx, an error in a 200) is
//     permanent.
//
// Reason is the Bitrix24 error code (or the HTTP status text without one).
// expired_token is classified permanent here; Client.call refreshes and
// retries before it gets that far.
func classify(method string, status int, h http.Header, e apiError, now time.Time) *crmsync.Error {
	reason := e.Code
	if reason == "" {
		reason = http.StatusText(status)
	}
	ce := &crmsync.Error{
		Status: status,
		Reason: reason,
		Err:    fmt.Errorf("bitrix24 %s: %s", method, describe(e.Description)),
	}
	switch {
	case retryableCodes[e.Code], status >= 500, status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		ce.Retryable = true
	case e.Code == codeCore && strings.Contains(strings.ToLower(e.Description), notFinishedYetMessage):
		ce.Retryable = true
	}
	if ce.Retryable {
		ce.RetryAfter = retryAfter(h, now)
		if e.Code == codeOperationLimit && e.Time.OperatingResetAt > 0 {
			reset := time.Unix(0, int64(e.Time.OperatingResetAt*float64(time.Second)))
			ce.RetryAfter = max(ce.RetryAfter, reset.Sub(now))
		}
	}
	return ce
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date; 0 if
// absent or in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// describe shortens a Bitrix24 error_description for an error message.
// Bitrix24 descriptions name the problem, not the request's values.
func describe(d string) string {
	d = strings.TrimSpace(d)
	if d == "" {
		return "no description"
	}
	if len(d) > maxDescriptionLen {
		d = strings.ToValidUTF8(d[:maxDescriptionLen], "") + "…"
	}
	return d
}

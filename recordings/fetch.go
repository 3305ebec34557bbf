package recordings

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/warehouse"
)

// outcomeKind is what became of one fetch attempt.
type outcomeKind int

const (
	outcomeStored  outcomeKind = iota // downloaded, stored, catalogued: the job is done
	outcomeSkipped                    // the call already has a recording: the job is done
	outcomeRetry                      // try again later, unless GiveUpAfter has passed
	outcomeDead                       // failed permanently
	outcomeAborted                    // Run's context ended mid-attempt: the job is left as it was
)

// outcome of one attempt. reason is a retry… or Reason… constant.
type outcome struct {
	kind       outcomeKind
	reason     string
	err        error
	retryAfter time.Duration // the server's Retry-After, if any
	rec        warehouse.Recording
}

func retry(reason string, err error) outcome {
	return outcome{kind: outcomeRetry, reason: reason, err: err}
}
func dead(reason string, err error) outcome {
	return outcome{kind: outcomeDead, reason: reason, err: err}
}

// sniffLen is how much of the body is looked at to recognise audio.
const sniffLen = 512

// fetch makes one attempt to download j's recording, bounded by
// Options.Timeout, and stores it. It does not touch the job store.
func (s *Store) fetch(ctx context.Context, j job) outcome {
	e := j.Event
	if _, found, err := s.opts.Catalog.Recording(ctx, e.Provider, e.CallID); err != nil {
		return s.classify(ctx, fmt.Errorf("look up stored recording: %w", err))
	} else if found {
		return outcome{kind: outcomeSkipped}
	}
	loc := s.locator(e)
	if loc == nil {
		return dead(ReasonLocator, fmt.Errorf("provider %q has no locator and the event no recording URL", e.Provider))
	}

	actx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	client := s.client(e.Provider)
	req, err := loc.Locate(actx, client, e)
	if err != nil {
		return s.classify(ctx, fmt.Errorf("locate recording: %w", redactURLs(err)))
	}
	resp, err := client.Do(req)
	if err != nil {
		return s.classify(ctx, fmt.Errorf("request recording: %w", redactURLs(err)))
	}
	defer drainClose(resp.Body)
	if o, ok := s.checkStatus(resp); !ok {
		return o
	}
	if resp.ContentLength > s.opts.MaxBytes {
		return dead(ReasonTooLarge, fmt.Errorf("response Content-Length %d exceeds %d bytes: %w", resp.ContentLength, s.opts.MaxBytes, errTooLarge))
	}
	body := bufio.NewReaderSize(resp.Body, sniffLen)
	head, err := body.Peek(sniffLen)
	switch {
	case len(head) == 0 && errors.Is(err, io.EOF):
		return retry(retryNotReady, errors.New("empty response body"))
	case err != nil && !errors.Is(err, io.EOF):
		return s.classify(ctx, fmt.Errorf("read recording: %w", err))
	}
	header := resp.Header.Get("Content-Type")
	ctype, ok := audioType(header, head)
	if !ok {
		return dead(ReasonContentType, fmt.Errorf("content type %q is not audio", header))
	}
	sum, n, err := s.blobs.write(body, s.opts.MaxBytes, ctype)
	if errors.Is(err, errTooLarge) {
		return dead(ReasonTooLarge, err)
	}
	if err != nil {
		return s.classify(ctx, err)
	}
	rec := warehouse.Recording{
		Provider: e.Provider, CallID: e.CallID, SHA256: sum, Bytes: uint64(n),
		ContentType: ctype, FetchedAt: s.opts.Now().UTC(),
	}
	if err := s.opts.Catalog.InsertRecording(ctx, rec); err != nil {
		return s.classify(ctx, fmt.Errorf("catalog recording: %w", err))
	}
	return outcome{kind: outcomeStored, rec: rec}
}

// locator picks the provider's Locator, or DirectLocator for an event with
// a plain URL; nil if there is neither.
func (s *Store) locator(e call.Event) Locator {
	if l := s.opts.Locators[e.Provider]; l != nil {
		return l
	}
	if e.RecordingURL != "" {
		return DirectLocator{}
	}
	return nil
}

// classify turns an error of the attempt into its outcome. ctx is Run's
// context, not the attempt's: its end aborts, the attempt's timeout retries.
// URLs in err must have been redacted before it was wrapped.
func (s *Store) classify(ctx context.Context, err error) outcome {
	switch {
	case ctx.Err() != nil:
		return outcome{kind: outcomeAborted, err: err}
	case errors.Is(err, errRefused):
		return dead(ReasonRefused, err)
	case errors.Is(err, errTooManyRedirects):
		return dead(ReasonHTTPStatus, err)
	case errors.Is(err, ErrPermanent):
		return dead(ReasonLocator, err)
	case errors.Is(err, ErrNotReady):
		return retry(retryNotReady, err)
	}
	return retry(retryTransient, err)
}

// checkStatus reports whether resp is a 200, and otherwise the outcome.
func (s *Store) checkStatus(resp *http.Response) (outcome, bool) {
	code := resp.StatusCode
	err := fmt.Errorf("download answered HTTP %d", code)
	switch {
	case code == http.StatusOK:
		return outcome{}, true
	case code == http.StatusNotFound, code == http.StatusTooEarly,
		code == http.StatusAccepted, code == http.StatusNoContent:
		return retry(retryNotReady, err), false
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		o := retry(retryTransient, err)
		o.retryAfter = s.retryAfter(resp.Header.Get("Retry-After"))
		return o, false
	}
	return dead(ReasonHTTPStatus, err), false
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func (s *Store) retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(s.opts.Now()), 0)
	}
	return 0
}

// audioType decides from the Content-Type header and the first bytes of the
// body whether the response is audio, and which media type to store:
// audio/* is taken as sent; application/octet-stream (or no header) is
// accepted, stored as the sniffed audio type if the bytes are recognisable;
// anything else (text/html, JSON error pages) is refused.
func audioType(header string, head []byte) (string, bool) {
	sniffed := sniffAudio(head)
	if strings.TrimSpace(header) == "" {
		switch {
		case sniffed != "":
			return sniffed, true
		case http.DetectContentType(head) == "application/octet-stream": // binary, not text
			return "application/octet-stream", true
		}
		return "", false
	}
	mt, _, err := mime.ParseMediaType(header)
	switch {
	case err != nil:
		return "", false
	case strings.HasPrefix(mt, "audio/"):
		return mt, true
	case mt == "application/octet-stream" || mt == "binary/octet-stream":
		if sniffed != "" {
			return sniffed, true
		}
		return "application/octet-stream", true
	}
	return "", false
}

// sniffAudio returns the audio type net/http recognises in head, or "".
func sniffAudio(head []byte) string {
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	switch {
	case strings.HasPrefix(mt, "audio/"):
		return mt
	case mt == "application/ogg":
		return "audio/ogg"
	}
	return ""
}

// drainClose reads a little of what is left, so the connection can be
// reused, and closes the body.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

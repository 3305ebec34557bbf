package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
)

// isoLayout is ISO-8601 with an explicit numeric offset, never "Z" (§6.2).
const isoLayout = "2006-01-02T15:04:05-07:00"

// Call types of telephony.externalCall.register (§6.2).
const (
	typeOutbound = 1
	typeInbound  = 2
)

// statusCodes maps a call outcome to the STATUS_CODE of
// telephony.externalCall.finish (§6.3). StatusNone sends nothing: Bitrix24
// then derives 200/304 from DURATION.
var statusCodes = map[call.Status]string{
	call.StatusAnswered:  "200",
	call.StatusMissed:    "304",
	call.StatusCancelled: "603-S",
	call.StatusBusy:      "486",
	call.StatusFailed:    "OTHER",
}

// registerResult is the part of the register answer the client reads.
type registerResult struct {
	CallID string `json:"CALL_ID"`
}

// PushCall registers and finishes the call in Bitrix24
// (telephony.externalCall.register with EXTERNAL_CALL_ID = c.Key, then
// .finish) and returns Ref{ID: CALL_ID}.
//
// It is idempotent within Bitrix24's 30-minute window: a retried register
// with the same EXTERNAL_CALL_ID returns the same CALL_ID. When register
// succeeded and finish failed, a retry in the same process finishes the
// remembered CALL_ID without registering again, and treats "Call is not
// found" as "already finished" (the earlier finish went through but its
// answer was lost). A call already finished in this process is not pushed
// again: Bitrix24 deduplicates registers only while a call is open. Nothing
// is remembered across restarts (the outbox settles pushes durably).
func (c *Client) PushCall(ctx context.Context, r crmsync.CallRecord) (crmsync.Ref, error) {
	user, err := c.callUser(r)
	if err != nil {
		return crmsync.Ref{}, err
	}
	reg, err := c.registerParams(r, user)
	if err != nil {
		return crmsync.Ref{}, err
	}
	known, retried := c.registered.get(r.Key)
	if known.finished {
		return crmsync.Ref{ID: known.callID}, nil
	}
	callID := known.callID
	if !retried {
		raw, err := c.Call(ctx, "telephony.externalCall.register", reg)
		if err != nil {
			return crmsync.Ref{}, fmt.Errorf("push call: %w", c.userNotFound(user, err))
		}
		var res registerResult
		if err := json.Unmarshal(raw, &res); err != nil || res.CallID == "" {
			return crmsync.Ref{}, malformed("telephony.externalCall.register", errors.New("no CALL_ID"))
		}
		callID = res.CallID
		c.registered.put(r.Key, registration{callID: callID})
	}
	if _, err := c.Call(ctx, "telephony.externalCall.finish", c.finishParams(r, user, callID)); err != nil {
		if !(retried && isCallNotFound(err)) {
			return crmsync.Ref{}, fmt.Errorf("push call: %w", err)
		}
		c.log.Debug("bitrix24: call already finished", "crm", c.opts.Name, "key", r.Key)
	}
	c.registered.put(r.Key, registration{callID: callID, finished: true})
	return crmsync.Ref{ID: callID}, nil
}

func (c *Client) finishParams(r crmsync.CallRecord, user portalUser, callID string) map[string]any {
	fin := map[string]any{
		"CALL_ID":     callID,
		"DURATION":    r.TalkSeconds,
		"ADD_TO_CHAT": boolInt(c.opts.AddToChat),
	}
	user.set(fin)
	if code, ok := statusCodes[r.Status]; ok {
		fin["STATUS_CODE"] = code
	}
	return fin
}

// MaxBatch is the most calls PushCalls takes: one register and one finish
// command each, in two batch requests of up to MaxBatch commands.
func (c *Client) MaxBatch() int { return MaxBatch }

// PushCalls pushes several calls in two batch requests (§6.7) — every
// register, then every finish — instead of two requests per call, so a
// backlog drains 25 times faster within the portal's 2 requests/s. Each
// call behaves as with PushCall: same parameters, the same memory of
// registrations, "Call is not found" on a retried finish counts as done,
// and a call already finished is not pushed again. A failed batch request
// fails every call it carried; a failed command fails only its call.
func (c *Client) PushCalls(ctx context.Context, rs []crmsync.CallRecord) []crmsync.PushResult {
	out := make([]crmsync.PushResult, len(rs))
	type item struct {
		i       int
		user    portalUser
		callID  string
		retried bool
	}
	var items []*item
	var regs []Command
	for i, r := range rs {
		if len(items) == MaxBatch {
			out[i].Err = &crmsync.Error{Retryable: true, Reason: "batch full", Err: errors.New("bitrix24: more calls than MaxBatch")}
			continue
		}
		user, err := c.callUser(r)
		if err != nil {
			out[i].Err = err
			continue
		}
		reg, err := c.registerParams(r, user)
		if err != nil {
			out[i].Err = err
			continue
		}
		known, retried := c.registered.get(r.Key)
		if known.finished {
			out[i].Ref = crmsync.Ref{ID: known.callID}
			continue
		}
		items = append(items, &item{i: i, user: user, callID: known.callID, retried: retried})
		if !retried {
			regs = append(regs, Command{Key: "r" + strconv.Itoa(i), Method: "telephony.externalCall.register", Params: reg})
		}
	}
	if len(regs) > 0 {
		res, err := c.Batch(ctx, regs, false)
		for _, it := range items {
			if it.retried {
				continue
			}
			raw, err := commandResult(res, err, "r"+strconv.Itoa(it.i))
			var rr registerResult
			if err == nil && (json.Unmarshal(raw, &rr) != nil || rr.CallID == "") {
				err = malformed("telephony.externalCall.register", errors.New("no CALL_ID"))
			}
			if err != nil {
				out[it.i].Err = fmt.Errorf("push call: %w", c.userNotFound(it.user, err))
				continue
			}
			it.callID = rr.CallID
			c.registered.put(rs[it.i].Key, registration{callID: rr.CallID})
		}
	}
	var fins []Command
	for _, it := range items {
		if out[it.i].Err == nil {
			fins = append(fins, Command{Key: "f" + strconv.Itoa(it.i), Method: "telephony.externalCall.finish",
				Params: c.finishParams(rs[it.i], it.user, it.callID)})
		}
	}
	if len(fins) == 0 {
		return out
	}
	res, err := c.Batch(ctx, fins, false)
	for _, it := range items {
		if out[it.i].Err != nil {
			continue
		}
		if _, err := commandResult(res, err, "f"+strconv.Itoa(it.i)); err != nil && !(it.retried && isCallNotFound(err)) {
			out[it.i].Err = fmt.Errorf("push call: %w", err)
			continue
		}
		c.registered.put(rs[it.i].Key, registration{callID: it.callID, finished: true})
		out[it.i].Ref = crmsync.Ref{ID: it.callID}
	}
	return out
}

// commandResult is the answer to one command of a batch: the batch's own
// error, the command's error, or its result.
func commandResult(res BatchResult, batchErr error, key string) (json.RawMessage, error) {
	if batchErr != nil {
		return nil, batchErr
	}
	if e, ok := res.Errors[key]; ok {
		return nil, e
	}
	raw, ok := res.Results[key]
	if !ok {
		return nil, malformed("batch", fmt.Errorf("no answer for command %s", key))
	}
	return raw, nil
}

func (c *Client) registerParams(r crmsync.CallRecord, user portalUser) (map[string]any, error) {
	var typ int
	switch r.Direction {
	case call.DirectionInbound:
		typ = typeInbound
	case call.DirectionOutbound:
		typ = typeOutbound
	default:
		return nil, invalid("push call", "direction %s: want inbound or outbound", r.Direction)
	}
	switch {
	case r.Key == "":
		return nil, invalid("push call", "empty key")
	case r.ClientPhone == "":
		return nil, invalid("push call", "no client phone")
	}
	p := map[string]any{
		"PHONE_NUMBER":     bitrixPhone(r.ClientPhone),
		"TYPE":             typ,
		"CRM_CREATE":       boolInt(c.opts.CreateUnknown),
		"SHOW":             0, // the call is over: no call card
		"ADD_TO_CHAT":      boolInt(c.opts.AddToChat),
		"EXTERNAL_CALL_ID": r.Key,
	}
	user.set(p)
	if !r.StartedAt.IsZero() {
		p["CALL_START_DATE"] = r.StartedAt.In(c.opts.Location).Format(isoLayout)
	}
	if c.opts.CreateUnknown && c.opts.CRMSource != "" {
		p["CRM_SOURCE"] = c.opts.CRMSource
	}
	if r.LinePhone != "" {
		p["LINE_NUMBER"] = bitrixPhone(r.LinePhone)
	}
	return p, nil
}

// AttachRecording attaches the recording at c.RecordingURL to the call
// (telephony.externalCall.attachRecord with RECORD_URL; Bitrix24 downloads
// it). Before finish is processed Bitrix24 answers "not finished yet",
// which is classified retryable. Attaching again replaces the recording.
func (c *Client) AttachRecording(ctx context.Context, ref crmsync.Ref, r crmsync.CallRecord) error {
	switch {
	case ref.ID == "":
		return invalid("attach recording", "empty CALL_ID")
	case r.RecordingURL == "":
		return invalid("attach recording", "no recording URL")
	}
	_, err := c.Call(ctx, "telephony.externalCall.attachRecord", map[string]any{
		"CALL_ID":    ref.ID,
		"FILENAME":   recordingFilename(r.Key, r.RecordingURL),
		"RECORD_URL": r.RecordingURL,
	})
	if err != nil {
		return fmt.Errorf("attach recording: %w", err)
	}
	return nil
}

// recordingFilename is the call key made file-name safe with the URL's
// extension when it is .wav, else .mp3 (the only two Bitrix24 accepts).
func recordingFilename(key, rawURL string) string {
	ext := ".mp3"
	u := rawURL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if strings.EqualFold(path.Ext(u), ".wav") {
		ext = ".wav"
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, key)
	if name == "" {
		name = "call"
	}
	return name + ext
}

// portalUser names the Bitrix24 user of a call: by id, or by the internal
// phone number (USER_PHONE_INNER, §6.2–6.3), which Bitrix24 resolves to
// the user who has it.
type portalUser struct {
	id    int64
	inner string
}

func (u portalUser) set(p map[string]any) {
	if u.inner != "" {
		p["USER_PHONE_INNER"] = u.inner
		return
	}
	p["USER_ID"] = u.id
}

// callUser is the user of a call: its mapped CRMUserID; else, with
// Options.InnerPhones, the manager's extension as the internal number
// (unless the portal said no user has it); else DefaultUserID.
func (c *Client) callUser(r crmsync.CallRecord) (portalUser, error) {
	if r.CRMUserID == "" && c.opts.InnerPhones && r.Manager != "" && !c.noInner.has(r.Manager) {
		return portalUser{inner: r.Manager}, nil
	}
	id, err := c.userID(r.CRMUserID)
	return portalUser{id: id}, err
}

// userNotFound turns "User is not found" for an internal number into a
// retryable error, remembering that no user has that number: the retry
// falls back to DefaultUserID. Without a default user it stays permanent.
func (c *Client) userNotFound(u portalUser, err error) error {
	var ce *crmsync.Error
	if u.inner == "" || !errors.As(err, &ce) || ce.Reason != codeCore ||
		!strings.Contains(strings.ToLower(ce.Err.Error()), "user is not found") {
		return err
	}
	c.noInner.put(u.inner)
	if c.opts.DefaultUserID == "" {
		return err
	}
	c.log.Info("bitrix24: no user has this internal number; calls of the extension go to the default user", "crm", c.opts.Name, "extension", u.inner)
	return &crmsync.Error{Retryable: true, Reason: "internal number unknown", Err: err}
}

// userID is the numeric Bitrix24 user for a CRMUserID, or DefaultUserID.
func (c *Client) userID(s string) (int64, error) {
	if s == "" {
		s = c.opts.DefaultUserID
	}
	if s == "" {
		return 0, invalid("bitrix24", "no CRM user: map the manager or set a default user id")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !isDigits(s) || n <= 0 {
		return 0, invalid("bitrix24", "CRM user id %q: want a positive number", s)
	}
	return n, nil
}

// bitrixPhone writes an E.164 number as the digits Bitrix24's examples use
// ("79161234567", §6.2).
func bitrixPhone(e164 string) string { return strings.TrimPrefix(e164, "+") }

func isCallNotFound(err error) bool {
	var ce *crmsync.Error
	return errors.As(err, &ce) && ce.Reason == codeCore &&
		strings.Contains(strings.ToLower(ce.Err.Error()), "call is not found")
}

// invalid is a permanent error about the request itself; format must not
// carry phone numbers.
func invalid(op, format string, args ...any) error {
	return &crmsync.Error{Reason: "invalid request", Err: fmt.Errorf("bitrix24 "+op+": "+format, args...)}
}

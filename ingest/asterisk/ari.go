package asterisk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ErrInvalidEvent is wrapped by every decoding error. Its messages name
// fields, never their values (which may be phone numbers).
var ErrInvalidEvent = errors.New("invalid ARI event")

// MaxFrameBytes bounds one WebSocket frame (one ARI event).
const MaxFrameBytes = 1 << 20

const maxIDLen = 256

// event is one ARI event as sent on /ari/events (rest-api/api-docs/
// events.json). Only the fields callpulse uses are declared; unknown fields
// are ignored, because ARI adds fields between versions.
type event struct {
	Type        string `json:"type"`
	Timestamp   string `json:"timestamp"`
	Application string `json:"application"`
	// Channel is set on channel events (StasisStart, ChannelCreated,
	// ChannelStateChange, ChannelDestroyed, ChannelVarset, ...).
	Channel *channel `json:"channel"`
	// Cause is the Q.850 cause of ChannelDestroyed.
	Cause int `json:"cause"`
	// Caller, Peer and DialStatus are the Dial event's.
	Caller     *channel `json:"caller"`
	Peer       *channel `json:"peer"`
	DialStatus string   `json:"dialstatus"`
	// Variable and Value are ChannelVarset's.
	Variable string `json:"variable"`
	Value    string `json:"value"`
	// Recording is set on Recording* events.
	Recording *recording `json:"recording"`
	// Bridge is set on ChannelEnteredBridge / ChannelLeftBridge.
	Bridge *bridge `json:"bridge"`
}

// channel is ARI's Channel object (spec §4.2).
type channel struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Caller       callerID `json:"caller"`
	Connected    callerID `json:"connected"`
	Dialplan     dialplan `json:"dialplan"`
	CreationTime string   `json:"creationtime"`
	// LinkedID is not part of stock ARI's Channel; it is honoured if a
	// version or proxy adds it. The documented source is ChannelVars.
	LinkedID    string            `json:"linkedid"`
	ChannelVars map[string]string `json:"channelvars"`
}

type callerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplan struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// recording is ARI's LiveRecording.
type recording struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
}

type bridge struct {
	ID string `json:"id"`
}

// decode parses one WebSocket frame. It checks only the envelope; the
// fields a mapping needs are checked where they are used.
func decode(frame []byte) (event, error) {
	var ev event
	if len(frame) > MaxFrameBytes {
		return ev, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidEvent, len(frame), MaxFrameBytes)
	}
	if err := json.Unmarshal(frame, &ev); err != nil {
		return event{}, fmt.Errorf("%w: %s", ErrInvalidEvent, jsonReason(err))
	}
	if ev.Type == "" {
		return event{}, fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	return ev, nil
}

// jsonReason describes a decoding error without echoing input values.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: wrong type %s", typ.Field, typ.Value)
	}
	return "malformed JSON"
}

// parseTime reads ARI's "%FT%T.%q%z" (2024-05-14T10:21:05.123+0300, no colon
// in the offset) and, in case a version or proxy rewrites it, RFC 3339. An
// offset is required: a time without one is ambiguous. As for the other
// providers, the year (in UTC) must lie in 2000–2099: a year outside
// 0–9999 in UTC could not even be stored (found by FuzzParse).
func parseTime(field, s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05Z0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			if y := t.UTC().Year(); y < 2000 || y >= 2100 {
				return time.Time{}, fmt.Errorf("%w: %s: year out of range, want 2000 to 2099", ErrInvalidEvent, field)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s: want ISO 8601 with offset, e.g. 2024-05-14T10:21:05.123+0300", ErrInvalidEvent, field)
}

// checkID accepts printable identifiers of bounded length.
func checkID(field, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s: required", ErrInvalidEvent, field)
	case len(id) > maxIDLen:
		return fmt.Errorf("%w: %s: longer than %d bytes", ErrInvalidEvent, field, maxIDLen)
	case strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) || r == unicode.ReplacementChar }) >= 0:
		return fmt.Errorf("%w: %s: contains non-printable characters", ErrInvalidEvent, field)
	}
	return nil
}

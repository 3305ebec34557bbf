package mango

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// recordingJSON is the payload of /events/recording.
type recordingJSON struct {
	EntryID        text    `json:"entry_id"`
	RecordingID    text    `json:"recording_id"`
	RecordingState text    `json:"recording_state"`
	CompletionCode integer `json:"completion_code"`
	Recipient      text    `json:"recipient"`
}

// completionOK is the completion_code of a saved recording.
const completionOK = 1000

// recording maps /events/recording. Only a Completed recording that was
// saved to Mango's cloud yields an event (RecordingRef = recording_id):
// Started and Continued come before the file exists, completion codes
// other than 1000 mean it was not saved (4002: shorter than the minimum;
// 22xx: account limits), and recipient "Mail" means it was only e-mailed.
// An absent completion_code or recipient is taken as a cloud save (❓).
func (d decoder) recording(payload string) ([]call.Event, error) {
	var r recordingJSON
	if err := decode(payload, &r); err != nil {
		return nil, err
	}
	entry, err := id("entry_id", r.EntryID)
	if err != nil {
		return nil, err
	}
	state := string(r.RecordingState)
	if state == "" {
		return nil, ingest.BadRequest("recording_state", "required")
	}
	if !strings.EqualFold(state, "Completed") {
		return nil, nil
	}
	if r.CompletionCode.set && r.CompletionCode.v != completionOK {
		return nil, nil
	}
	switch strings.ToLower(string(r.Recipient)) {
	case "", "cloud", "cloudandmail":
	default:
		return nil, nil
	}
	rec, err := id("recording_id", r.RecordingID)
	if err != nil {
		return nil, err
	}
	e := d.event(entry, key("recording", rec, "completed"))
	e.RecordingRef = rec
	return []call.Event{e}, nil
}

// recordAddedJSON is the payload of /events/record/added (🟡), sent once
// the file is in cloud storage.
type recordAddedJSON struct {
	EntryID     text `json:"entry_id"`
	RecordingID text `json:"recording_id"`
}

// recordAdded maps /events/record/added to an event with RecordingRef.
func (d decoder) recordAdded(payload string) ([]call.Event, error) {
	var r recordAddedJSON
	if err := decode(payload, &r); err != nil {
		return nil, err
	}
	entry, err := id("entry_id", r.EntryID)
	if err != nil {
		return nil, err
	}
	rec, err := id("recording_id", r.RecordingID)
	if err != nil {
		return nil, err
	}
	e := d.event(entry, key("record_added", rec))
	e.RecordingRef = rec
	return []call.Event{e}, nil
}

// recordingPath is the download method below the API URL.
const recordingPath = "/queries/recording/post"

// Locate returns the request that downloads the recording of e
// (e.RecordingRef set). It may call the provider API through client.
//
// For Mango it calls nothing: it returns the signed
// POST {APIURL}/queries/recording/post with the form fields vpbx_api_key,
// sign and json={"recording_id":"…","action":"download"}. Mango answers
// 302 with a one-shot URL of the file, which the caller's client follows
// (Go's client turns the POST into a GET on a 302); the URL must not be
// stored. An unknown or not yet stored recording is answered with an
// error status; Mango advises retrying about once a minute.
func (p *Provider) Locate(ctx context.Context, _ *http.Client, e call.Event) (*http.Request, error) {
	switch {
	case e.Provider != Name:
		return nil, fmt.Errorf("mango: locate recording: event of provider %q", e.Provider)
	case e.RecordingRef == "":
		return nil, errors.New("mango: locate recording: event has no recording ref")
	}
	if _, err := id("recording_id", text(e.RecordingRef)); err != nil {
		return nil, fmt.Errorf("mango: locate recording: %w", err)
	}
	payload, err := json.Marshal(struct {
		RecordingID string `json:"recording_id"`
		Action      string `json:"action"`
	}{e.RecordingRef, "download"})
	if err != nil {
		return nil, fmt.Errorf("mango: locate recording: encode request: %w", err)
	}
	form := url.Values{
		fieldKey:  {p.key},
		fieldSign: {Sign(p.key, p.salt, string(payload))},
		fieldJSON: {string(payload)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.apiURL+recordingPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("mango: locate recording: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

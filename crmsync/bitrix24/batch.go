package bitrix24

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/callpulse/callpulse/crmsync"
)

// MaxBatch is the most sub-calls one batch may carry (§6.7).
const MaxBatch = 50

// Command is one sub-call of a batch.
type Command struct {
	// Key names the command in the results (letters, digits, _).
	Key    string
	Method string
	Params map[string]any
}

// BatchResult holds the per-command outcome of a batch. A command is in
// Results or in Errors (or in neither if halt stopped the batch before it).
type BatchResult struct {
	Results map[string]json.RawMessage
	Errors  map[string]*crmsync.Error
	// Next and Total are the paging fields of list commands.
	Next  map[string]int
	Total map[string]int
}

// batchResult is the "result" of a batch answer. Its key names are not
// confirmed by the docs (§6.7 ❓); PHP sends an empty map as [], and
// commands given as a list come back as lists, so every part is decoded
// by keyed.
type batchResult struct {
	Result      json.RawMessage `json:"result"`
	ResultError json.RawMessage `json:"result_error"`
	ResultTotal json.RawMessage `json:"result_total"`
	ResultNext  json.RawMessage `json:"result_next"`
}

// Batch runs up to MaxBatch commands in one request, which costs one unit
// of the leaky bucket (§6.7). With halt, Bitrix24 stops at the first
// failing command. The error is for the batch as a whole; per-command
// failures are in BatchResult.Errors, classified like top-level ones.
// Telephony commands fail with ErrNeedsApplication under a webhook.
func (c *Client) Batch(ctx context.Context, cmds []Command, halt bool) (BatchResult, error) {
	if len(cmds) == 0 {
		return BatchResult{}, nil
	}
	if len(cmds) > MaxBatch {
		return BatchResult{}, &crmsync.Error{Reason: "ERROR_BATCH_LENGTH_EXCEEDED",
			Err: fmt.Errorf("bitrix24 batch: %d commands, at most %d", len(cmds), MaxBatch)}
	}
	cmd := make(map[string]any, len(cmds))
	for _, k := range cmds {
		if c.opts.WebhookURL != "" && isTelephony(k.Method) {
			return BatchResult{}, &crmsync.Error{Reason: codeWrongAuthType, Err: fmt.Errorf("bitrix24 batch %s: %w", k.Method, ErrNeedsApplication)}
		}
		if _, dup := cmd[k.Key]; dup || k.Key == "" {
			return BatchResult{}, &crmsync.Error{Reason: "invalid batch", Err: fmt.Errorf("bitrix24 batch: command key %q empty or repeated", k.Key)}
		}
		q := k.Method
		if len(k.Params) > 0 {
			q += "?" + encodeQuery(k.Params)
		}
		cmd[k.Key] = q
	}
	r, err := c.call(ctx, "batch", map[string]any{"halt": boolInt(halt), "cmd": cmd})
	if err != nil {
		return BatchResult{}, err
	}
	var br batchResult
	if err := json.Unmarshal(r.Result, &br); err != nil {
		return BatchResult{}, malformed("batch", err)
	}
	out := BatchResult{Errors: map[string]*crmsync.Error{}, Next: map[string]int{}, Total: map[string]int{}}
	if out.Results, err = keyed(br.Result); err != nil {
		return BatchResult{}, malformed("batch", err)
	}
	errs, err := keyed(br.ResultError)
	if err != nil {
		return BatchResult{}, malformed("batch", err)
	}
	now := c.opts.Now()
	for k, raw := range errs {
		var e apiError
		if json.Unmarshal(raw, &e) != nil {
			_ = json.Unmarshal(raw, &e.Code) // a bare code string
		}
		out.Errors[k] = classify("batch "+k, 0, nil, e, now)
	}
	for raw, dst := range map[*json.RawMessage]map[string]int{&br.ResultNext: out.Next, &br.ResultTotal: out.Total} {
		m, err := keyed(*raw)
		if err != nil {
			return BatchResult{}, malformed("batch", err)
		}
		for k, v := range m {
			var n json.Number
			if json.Unmarshal(v, &n) == nil {
				if i, err := strconv.Atoi(n.String()); err == nil {
					dst[k] = i
				}
			}
		}
	}
	return out, nil
}

// keyed decodes a PHP array: an object, a list (keys "0", "1", …), or null.
func keyed(raw json.RawMessage) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(raw) == 0 || string(raw) == "null" {
		return m, nil
	}
	if raw[0] == '[' {
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		for i, v := range l {
			m[strconv.Itoa(i)] = v
		}
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func malformed(method string, err error) error {
	return &crmsync.Error{Retryable: true, Reason: "malformed response", Err: fmt.Errorf("bitrix24 %s: %w", method, err)}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

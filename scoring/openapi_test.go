package scoring_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// documentedResponses are the answers each route must document.
var documentedResponses = map[string][]string{
	"POST /api/v1/touches": {"200", "400", "401", "413", "415", "503"},
	"GET /api/v1/queue":    {"200", "400", "401", "503"},
}

// TestOpenAPI checks that docs/openapi.yaml documents every route of the
// handler with its answers, and that real answers and the fixture's
// touches match the documented schemas (every required property present,
// nothing undocumented).
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}

	e := newEnv(t)
	e.loadScenario(t)
	sh := e.scoringHandler(t, e.scorer(t, nil))
	h := mux(sh)
	serve := func(method, target, body string) any {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		dec := json.NewDecoder(rec.Body)
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		return v
	}
	fixture, err := os.ReadFile(filepath.Join("testdata", "scenario", "touches.json"))
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]map[string]any{
		"POST /api/v1/touches": {
			"200": serve(http.MethodPost, "/api/v1/touches", string(fixture)),
			"400": serve(http.MethodPost, "/api/v1/touches", `[{"lead_id": "x", "action": "webinar", "at": "2026-11-20T09:00:00Z"}]`),
		},
		"GET /api/v1/queue": {"200": serve(http.MethodGet, "/api/v1/queue?all=true", "")},
	}

	for _, r := range sh.Routes() {
		pattern := r.Pattern
		if _, ok := documentedResponses[pattern]; !ok {
			t.Errorf("route %s: list its answers in documentedResponses", pattern)
		}
		method, path, _ := strings.Cut(pattern, " ")
		op, ok := lookup(doc, "paths", path, strings.ToLower(method))
		if !ok {
			t.Errorf("docs/openapi.yaml has no %s", pattern)
			continue
		}
		for _, code := range documentedResponses[pattern] {
			resp, ok := lookup(op, "responses", code)
			if !ok {
				t.Errorf("%s: response %s is not documented", pattern, code)
				continue
			}
			body, ok := answers[pattern][code]
			if !ok {
				continue
			}
			resp, err := resolve(doc, resp)
			if err != nil {
				t.Fatal(err)
			}
			schema, ok := lookup(resp, "content", "application/json", "schema")
			if !ok {
				t.Errorf("%s %s: no application/json schema", pattern, code)
				continue
			}
			for _, p := range conform(doc, schema, body, "$") {
				t.Errorf("%s %s: %s", pattern, code, p)
			}
		}
	}

	request, ok := lookup(doc, "paths", "/api/v1/touches", "post", "requestBody", "content", "application/json", "schema")
	if !ok {
		t.Fatal("POST /api/v1/touches: no request schema")
	}
	dec := json.NewDecoder(bytes.NewReader(fixture))
	dec.UseNumber()
	var touches any
	if err := dec.Decode(&touches); err != nil {
		t.Fatal(err)
	}
	for _, p := range conform(doc, request, touches, "touches.json") {
		t.Error(p)
	}
}

func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// resolve follows local "$ref"s.
func resolve(doc map[string]any, v any) (any, error) {
	for range 10 {
		ref, ok := lookup(v, "$ref")
		if !ok {
			return v, nil
		}
		s, _ := ref.(string)
		path, ok := strings.CutPrefix(s, "#/")
		if !ok {
			return nil, fmt.Errorf("$ref %q: only local references are used", s)
		}
		if v, ok = lookup(doc, strings.Split(path, "/")...); !ok {
			return nil, fmt.Errorf("$ref %q points nowhere", s)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// conform checks a decoded JSON value against the subset of JSON Schema
// these operations use: $ref, oneOf, type, nullable, required, properties
// and items.
func conform(doc map[string]any, schema, v any, at string) []string {
	schema, err := resolve(doc, schema)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", at, err)}
	}
	sm, _ := schema.(map[string]any)
	if alts, ok := sm["oneOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			problems := conform(doc, alt, v, at)
			if len(problems) == 0 {
				return nil
			}
			all = append(all, problems...)
		}
		return append([]string{at + ": matches no oneOf alternative"}, all...)
	}
	if v == nil {
		if sm["nullable"] != true {
			return []string{at + ": null, but the schema is not nullable"}
		}
		return nil
	}
	var problems []string
	switch typ, _ := sm["type"].(string); typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", at, v)}
		}
		props, _ := sm["properties"].(map[string]any)
		req, _ := sm["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: required property %q missing", at, r))
			}
		}
		for k, x := range obj {
			ps, ok := props[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: property %q is not documented", at, k))
				continue
			}
			problems = append(problems, conform(doc, ps, x, at+"."+k)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", at, v)}
		}
		if len(arr) == 0 {
			problems = append(problems, fmt.Sprintf("%s: empty; the sample should fill every array", at))
		}
		for i, x := range arr {
			problems = append(problems, conform(doc, sm["items"], x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			problems = append(problems, fmt.Sprintf("%s: %T, want a string", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			problems = append(problems, fmt.Sprintf("%s: %T, want a boolean", at, v))
		}
	case "integer":
		if n, ok := v.(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
			problems = append(problems, fmt.Sprintf("%s: %v, want an integer", at, v))
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			problems = append(problems, fmt.Sprintf("%s: %T, want a number", at, v))
		}
	}
	sort.Strings(problems)
	return problems
}

package api

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openAPI loads docs/openapi.yaml as plain maps.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("docs/openapi.yaml: openapi = %q, want 3.x", v)
	}
	return doc
}

// lookup follows a path of map keys.
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

// resolve follows a local "$ref" ("#/components/schemas/X").
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

// TestOpenAPIDocumentsEveryRoute checks that each route Register adds is an
// operation of docs/openapi.yaml with the answers every query can give.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := openAPI(t)
	s, _ := newTestServer(sampleStore())
	for _, e := range s.endpoints() {
		method, path, _ := strings.Cut(e.pattern, " ")
		op, ok := lookup(doc, "paths", path, strings.ToLower(method))
		if !ok {
			t.Errorf("docs/openapi.yaml has no %s %s", method, path)
			continue
		}
		for _, code := range []string{"200", "400", "401", "503"} {
			if _, ok := lookup(op, "responses", code); !ok {
				t.Errorf("%s %s: response %s is not documented", method, path, code)
			}
		}
	}
}

// TestOpenAPIReferencesResolve checks that every $ref in the file points at
// something.
func TestOpenAPIReferencesResolve(t *testing.T) {
	doc := openAPI(t)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["$ref"]; ok {
				if _, err := resolve(doc, v); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")
}

// TestOpenAPIMatchesResponses serves each route from sample rows and checks
// the JSON against the documented 200 schema: every required property is
// there and nothing undocumented is.
func TestOpenAPIMatchesResponses(t *testing.T) {
	doc := openAPI(t)
	s, mux := newTestServer(sampleStore())
	for _, e := range s.endpoints() {
		method, path, _ := strings.Cut(e.pattern, " ")
		t.Run(path, func(t *testing.T) {
			schema, ok := lookup(doc, "paths", path, strings.ToLower(method), "responses", "200", "content", "application/json", "schema")
			if !ok {
				t.Fatalf("no application/json schema for 200")
			}
			rec := get(mux, path+"?from=2026-11-10&to=2026-11-12", testToken)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var body any
			dec := json.NewDecoder(rec.Body)
			dec.UseNumber()
			if err := dec.Decode(&body); err != nil {
				t.Fatal(err)
			}
			for _, problem := range conform(doc, schema, body, "$") {
				t.Error(problem)
			}
		})
	}
}

// conform checks a decoded JSON value against the subset of JSON Schema the
// file uses: $ref, allOf, type, required, properties and items.
func conform(doc map[string]any, schema, v any, at string) []string {
	schema, err := resolve(doc, schema)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", at, err)}
	}
	sm, _ := schema.(map[string]any)
	if all, ok := sm["allOf"].([]any); ok {
		// Merge the parts of an allOf of objects, so that "no undocumented
		// property" sees all of them.
		merged := map[string]any{"type": "object", "properties": map[string]any{}}
		var required []any
		for _, part := range all {
			p, err := resolve(doc, part)
			if err != nil {
				return []string{fmt.Sprintf("%s: %v", at, err)}
			}
			pm, _ := p.(map[string]any)
			props, _ := pm["properties"].(map[string]any)
			for k, x := range props {
				merged["properties"].(map[string]any)[k] = x
			}
			req, _ := pm["required"].([]any)
			required = append(required, req...)
		}
		merged["required"] = required
		sm = merged
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
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: property %q is not documented", at, k))
				continue
			}
			problems = append(problems, conform(doc, ps, obj[k], at+"."+k)...)
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
	case "integer":
		if n, ok := v.(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
			problems = append(problems, fmt.Sprintf("%s: %v, want an integer", at, v))
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			problems = append(problems, fmt.Sprintf("%s: %T, want a number", at, v))
		}
	}
	return problems
}

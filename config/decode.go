package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decode copies the YAML node n onto v, strictly: keys that name no field,
// repeated keys and values of the wrong kind are errors. A null value keeps
// what v holds, so decoding onto Default() leaves unset keys at their
// defaults. It records in l.lines the line each key or sequence item was
// written on, and goes on after an error so that all are reported.
//
// The walk is driven by v's type, whose fields are named by their yaml tags;
// it handles structs, slices, strings, integers, floats, time.Duration and
// types implementing yaml.Unmarshaler, which is all Config needs. yaml.v3's
// own strict decoding is not used because its errors quote offending values
// (which may be secrets) and carry no path.
func (l *loader) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := u.UnmarshalYAML(n); err != nil {
			l.failAt(n.Line, path, err)
		}
		return
	}
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		l.decodeDuration(n, v, path)
	case v.Kind() == reflect.Struct:
		l.decodeMapping(n, v, path)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		l.decodeMap(n, v, path)
	case v.Kind() == reflect.Slice:
		l.decodeSequence(n, v, path)
	case v.Kind() == reflect.String:
		// Any scalar will do: an extension written as 101 is the string "101".
		// The value is not quoted in the error, as it may be a secret.
		if n.Kind != yaml.ScalarNode {
			l.failAt(n.Line, path, fmt.Errorf("expected a string, got %s", describe(n)))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			l.failAt(n.Line, path, fmt.Errorf("expected true or false, got %s", quote(n)))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			l.failAt(n.Line, path, fmt.Errorf("expected an integer, got %s", quote(n)))
			return
		}
		v.SetInt(i)
	case v.CanFloat():
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(&f) != nil {
			l.failAt(n.Line, path, fmt.Errorf("expected a number, got %s", quote(n)))
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("config: no YAML decoding for %s at %s", v.Type(), path))
	}
}

func (l *loader) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		l.failAt(n.Line, path, fmt.Errorf("expected a duration, got %s", describe(n)))
		return
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		l.failAt(n.Line, path, fmt.Errorf("invalid duration %q: want a number with a unit, such as 500ms, 30s or 5m", n.Value))
		return
	}
	v.SetInt(int64(d))
}

func (l *loader) decodeMapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.failAt(n.Line, path, fmt.Errorf("expected a mapping, got %s", describe(n)))
		return
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.ShortTag() == "!!merge" {
			l.failAt(key.Line, path, errors.New("merge keys (<<) are not supported"))
			continue
		}
		p := joinPath(path, key.Value)
		if first, ok := seen[key.Value]; ok {
			l.failAt(key.Line, p, fmt.Errorf("repeated key (first at line %d)", first))
			continue
		}
		seen[key.Value] = key.Line
		idx, ok := fields[key.Value]
		if key.Kind != yaml.ScalarNode || !ok {
			l.failAt(key.Line, "", fmt.Errorf("field %s not found", p))
			continue
		}
		l.lines[p] = key.Line
		l.decode(val, v.Field(idx), p)
	}
}

// decodeMap decodes a mapping with string keys into a fresh map, so a map
// given in the file replaces its default rather than merging into it.
func (l *loader) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.failAt(n.Line, path, fmt.Errorf("expected a mapping, got %s", describe(n)))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		p := joinPath(path, key.Value)
		if key.Kind != yaml.ScalarNode || key.ShortTag() == "!!merge" {
			l.failAt(key.Line, path, errors.New("keys must be plain strings"))
			continue
		}
		if first, ok := seen[key.Value]; ok {
			l.failAt(key.Line, p, fmt.Errorf("repeated key (first at line %d)", first))
			continue
		}
		seen[key.Value] = key.Line
		l.lines[p] = key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		l.decode(val, elem, p)
		m.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (l *loader) decodeSequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		l.failAt(n.Line, path, fmt.Errorf("expected a sequence, got %s", describe(n)))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		l.lines[p] = item.Line
		l.decode(item, s.Index(i), p)
	}
	v.Set(s)
}

// yamlFields maps the YAML names of t's fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
	}
	return fields
}

// joinPath returns the path of key in the mapping at path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parentPath returns the path of the mapping or sequence holding path, or ""
// at the top level: managers[1].id → managers[1] → managers → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// describe names the kind of n's value without showing it, for errors about
// values that may be secrets.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	default:
		return n.ShortTag()
	}
}

// quote shows a scalar's value, or describes any other node.
func quote(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return describe(n)
}

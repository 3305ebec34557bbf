package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes. In YAML it is written as an integer number of
// bytes or as a string with a unit: "512B", "100KB", "64MiB", "1GiB".
type ByteSize int64

// Units of ByteSize.
const (
	B   ByteSize = 1
	KB  ByteSize = 1000
	MB  ByteSize = 1000 * KB
	GB  ByteSize = 1000 * MB
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

// byteUnits lists the units ParseByteSize accepts, for errors.
const byteUnits = "B, KB, MB, GB, KiB, MiB or GiB"

// ParseByteSize parses a whole number optionally followed by one of the units
// B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024). Space
// between number and unit is allowed; units are case-sensitive.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	end := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(t)
	}
	unit := strings.TrimSpace(t[end:])
	if end == 0 || strings.IndexFunc(unit, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return 0, fmt.Errorf("invalid byte size %q: want a whole number of bytes, optionally followed by a unit (%s)", s, byteUnits)
	}
	var mult ByteSize
	switch unit {
	case "", "B":
		mult = B
	case "KB":
		mult = KB
	case "MB":
		mult = MB
	case "GB":
		mult = GB
	case "KiB":
		mult = KiB
	case "MiB":
		mult = MiB
	case "GiB":
		mult = GiB
	default:
		return 0, fmt.Errorf("invalid byte size %q: unknown unit %q (want %s)", s, unit, byteUnits)
	}
	n, err := strconv.ParseInt(t[:end], 10, 64)
	if err != nil || n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("invalid byte size %q: too large", s)
	}
	return ByteSize(n) * mult, nil
}

// String formats b with the largest unit that divides it exactly, preferring
// binary units: 1GiB, 64MiB, 1500KB, 1023B.
func (b ByteSize) String() string {
	units := []struct {
		size ByteSize
		name string
	}{{GiB, "GiB"}, {GB, "GB"}, {MiB, "MiB"}, {MB, "MB"}, {KiB, "KiB"}, {KB, "KB"}}
	if b != 0 {
		for _, u := range units {
			if b%u.size == 0 {
				return strconv.FormatInt(int64(b/u.size), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// UnmarshalYAML implements yaml.Unmarshaler. It accepts a non-negative
// integer (bytes) or a string for ParseByteSize.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a byte size, got %s", describe(n))
	}
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("invalid byte size %q: too large", n.Value)
		}
		if v < 0 {
			return fmt.Errorf("invalid byte size %s: must not be negative", n.Value)
		}
		*b = ByteSize(v)
	case "!!str":
		v, err := ParseByteSize(n.Value)
		if err != nil {
			return err
		}
		*b = v
	default:
		return fmt.Errorf("invalid byte size %s: want a whole number of bytes, optionally followed by a unit (%s)", quote(n), byteUnits)
	}
	return nil
}

// MarshalYAML implements yaml.Marshaler, writing b as String does.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

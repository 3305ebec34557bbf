package deal

import "strings"

// MaxSourceDigits is the most digits a source name made from a CRM value
// may hold: a value with more may be a phone number typed into the source
// field, and source names become metric labels, which never carry phone
// numbers. Such a value must be mapped explicitly (source_map).
const MaxSourceDigits = 6

// SourceSlug makes a source name of a raw CRM value: lowercased, anything
// outside [a-z0-9_.-] replaced by "_" (runs collapsed, none at the ends),
// at most MaxSourceLen bytes. It returns "" when nothing readable is left
// ("Яндекс" has no Latin letter) or when the value has more than
// MaxSourceDigits digits.
func SourceSlug(raw string) string {
	readable, digits := false, 0
	out := make([]byte, 0, len(raw))
	for _, c := range []byte(strings.ToLower(raw)) {
		switch {
		case c >= '0' && c <= '9':
			digits++
			readable = true
			out = append(out, c)
		case c >= 'a' && c <= 'z':
			readable = true
			out = append(out, c)
		case c == '_' || c == '.' || c == '-':
			out = append(out, c)
		case len(out) == 0 || out[len(out)-1] != '_':
			out = append(out, '_')
		}
	}
	if !readable || digits > MaxSourceDigits {
		return ""
	}
	s := strings.Trim(string(out), "_")
	if len(s) > MaxSourceLen {
		s = strings.TrimRight(s[:MaxSourceLen], "_")
	}
	return s
}

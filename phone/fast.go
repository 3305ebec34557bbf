package phone

// The fast path. phonenumbers.Parse runs a dozen regular expressions over
// every number (extension, viability, international and national prefixes)
// and was the largest cost of a webhook (docs/performance.md). Most numbers
// PBXs send are Russian numbers in one of four spellings, whose E.164 form
// is the ten-digit national number after "+7"; fast recognises exactly
// those and leaves everything else to phonenumbers. Its rules are what
// phonenumbers does with them (RU metadata: country code 7, national prefix
// 8, international prefix 810, national numbers [347-9]\d{9} when written
// after a bare 7, ten digits possible), and fast_test.go checks them
// against phonenumbers for every four-digit prefix of every form.

// maxFastDigits is the most digits a number fast recognises has.
const maxFastDigits = 11

// fast returns the E.164 form of s if s is one of these spellings, with
// spaces, hyphens and parentheses allowed between the digits:
//
//   - "+7" and ten digits, in any default region;
//
// and, when the default region is RU:
//
//   - "8" and ten digits (national prefix), unless it starts with "810"
//     (the international prefix);
//   - "7" and ten digits of which the first is 3, 4, 7, 8 or 9 (the country
//     code without "+"; other numbers of that shape are not Russian ones);
//   - ten digits (the national number), unless they start with "810".
//
// It reports false for anything else, valid or not.
func (n *Normalizer) fast(s string) (string, bool) {
	if len(s) > maxLen {
		return "", false
	}
	var d [maxFastDigits]byte
	nd, plus, plain := 0, false, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if nd == len(d) {
				return "", false
			}
			d[nd] = c
			nd++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')':
			if nd == 0 && !plus {
				return "", false // let phonenumbers judge what leads the number
			}
			plain = false
		default:
			return "", false
		}
	}
	switch {
	case nd != 10 && nd != 11:
		return "", false
	case plus:
		if nd != 11 || d[0] != '7' {
			return "", false
		}
		if plain {
			return s, true
		}
		return "+" + string(d[:nd]), true
	case !n.ru:
		return "", false
	case nd == 11 && d[0] == '8' && !(d[1] == '1' && d[2] == '0'):
		return "+7" + string(d[1:nd]), true
	case nd == 11 && d[0] == '7' && isRussianLead(d[1]):
		return "+" + string(d[:nd]), true
	case nd == 10 && !(d[0] == '8' && d[1] == '1' && d[2] == '0'):
		return "+7" + string(d[:nd]), true
	}
	return "", false
}

// isRussianLead reports whether a national number may start with c when the
// country code is written without "+" (the RU general pattern [347-9]\d{9}).
func isRussianLead(c byte) bool {
	switch c {
	case '3', '4', '7', '8', '9':
		return true
	}
	return false
}

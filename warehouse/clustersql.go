package warehouse

import "strings"

// A small SQL scanner for the cluster rewrite (cluster.go): just enough to
// find keywords and table names outside string literals and to know how
// deeply parenthesised each token is. It does not parse SQL.

type tokenKind int

const (
	tokWord   tokenKind = iota // identifier or keyword
	tokQuoted                  // `identifier`, "identifier" or 'literal'
	tokPunct                   // any other single character
)

type token struct {
	kind       tokenKind
	text       string
	start, end int // byte offsets in the scanned text
	depth      int // parentheses open around the token
}

func (t token) is(word string) bool { return t.kind == tokWord && strings.EqualFold(t.text, word) }

// tokenize splits sql into tokens, skipping white space and comments.
func tokenize(sql string) []token {
	var out []token
	depth := 0
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 4
			}
		case isWordByte(c, true):
			j := i + 1
			for j < len(sql) && isWordByte(sql[j], false) {
				j++
			}
			out = append(out, token{tokWord, sql[i:j], i, j, depth})
			i = j
		case c == '\'' || c == '`' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == '\\' {
					j += 2
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(sql))
			out = append(out, token{tokQuoted, sql[i:j], i, j, depth})
			i = j
		default:
			if c == ')' {
				depth--
			}
			out = append(out, token{tokPunct, string(c), i, i + 1, depth})
			if c == '(' {
				depth++
			}
			i++
		}
	}
	return out
}

func isWordByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// closing returns the index of the ")" that closes the "(" at toks[open],
// or -1.
func closing(toks []token, open int) int {
	for i := open + 1; i < len(toks); i++ {
		if toks[i].text == ")" && toks[i].kind == tokPunct && toks[i].depth == toks[open].depth {
			return i
		}
	}
	return -1
}

// tableRefs returns the indices of the bare table names that follow FROM
// or JOIN: words not followed by "." (a database-qualified name) or "("
// (a table function).
func tableRefs(toks []token) []int {
	var out []int
	for i := 0; i+1 < len(toks); i++ {
		if !toks[i].is("FROM") && !toks[i].is("JOIN") {
			continue
		}
		n := i + 1
		if toks[n].kind != tokWord {
			continue
		}
		if n+1 < len(toks) && toks[n+1].kind == tokPunct && (toks[n+1].text == "." || toks[n+1].text == "(") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// sourceTable returns the index of the table a SELECT reads first (of its
// database, when the name is qualified), the one
// whose inserts trigger a materialized view defined by it: the table after
// the outermost FROM, or, when that FROM reads a subquery, the subquery's
// source table, recursively (as ClickHouse picks it). It returns -1 if there
// is none.
func sourceTable(toks []token) int {
	lo, hi, depth := 0, len(toks), 0
	for {
		from := -1
		for i := lo; i < hi; i++ {
			if toks[i].depth == depth && toks[i].is("FROM") {
				from = i
				break
			}
		}
		if from < 0 || from+1 >= hi {
			return -1
		}
		next := toks[from+1]
		switch {
		case next.kind == tokWord:
			return from + 1
		case next.kind == tokPunct && next.text == "(":
			end := closing(toks, from+1)
			if end < 0 {
				return -1
			}
			lo, hi, depth = from+2, end, depth+1
		default:
			return -1
		}
	}
}

// replaceTokens returns sql with the text of toks[i] replaced by repl[i]
// for every index in repl.
func replaceTokens(sql string, toks []token, repl map[int]string) string {
	var b strings.Builder
	last := 0
	for i, t := range toks {
		r, ok := repl[i]
		if !ok {
			continue
		}
		b.WriteString(sql[last:t.start])
		b.WriteString(r)
		last = t.end
	}
	b.WriteString(sql[last:])
	return b.String()
}

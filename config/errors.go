package config

import (
	"fmt"
	"strings"
)

// Error is one problem with the configuration, located where the offending
// value came from.
type Error struct {
	// Source is the configuration file's name or, for a value from the
	// environment, the variable's name. It is empty for problems with the
	// configuration as a whole (see Config.ValidateForServe).
	Source string
	// Line is the 1-based line in the file, or 0 when unknown or when
	// Source is an environment variable.
	Line int
	// Path is the setting's YAML path, such as "managers[1].id". It is empty
	// when Err names its subject itself ("field tymezone not found") or when
	// Source is an environment variable.
	Path string
	Err  error
}

// Error formats e as "source:line: path: problem", leaving out the parts that
// are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a configuration. Its message has one line
// per problem.
type Errors []*Error

// Error joins the problems' messages with newlines.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path and returns the configuration it
// describes: Default, overlaid with the file, overlaid with the environment
// variables named in the package documentation (read with lookup, which is
// os.LookupEnv in production), with *_file secrets read, and validated.
//
// If the file cannot be read the error is os.ReadFile's, wrapped. Otherwise
// every problem found is returned at once as Errors.
func Load(path string, lookup func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(data, path, lookup)
}

// Parse is Load for a file already read. name is the file's name: errors cite
// it, and relative token_file paths are resolved against its directory. A nil
// lookup means an empty environment.
//
// The error, if any, is of type Errors.
func Parse(data []byte, name string, lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	l := &loader{
		name:   name,
		dir:    filepath.Dir(name),
		lookup: lookup,
		lines:  make(map[string]int),
		envs:   make(map[string]string),
	}
	cfg := Default()
	root, err := l.parseYAML(data)
	if err != nil {
		return nil, Errors{err}
	}
	if root != nil {
		l.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	}
	l.token(&cfg.API, "api", EnvAPIToken)
	l.secret(&cfg.Webhooks.Generic.Token, cfg.Webhooks.Generic.TokenFile, "webhooks.generic", "token", EnvGenericToken)
	l.providerSecrets(&cfg)
	l.secret(&cfg.CRM.AmoCRM.Token, cfg.CRM.AmoCRM.TokenFile, "crm.amocrm", "token", EnvAmoCRMToken)
	l.secret(&cfg.CRM.Bitrix24.ClientSecret, cfg.CRM.Bitrix24.ClientSecretFile, "crm.bitrix24", "client_secret", EnvBitrix24ClientSecret)
	if f := cfg.CRM.Bitrix24.TokensFile; f != "" && !filepath.IsAbs(f) {
		cfg.CRM.Bitrix24.TokensFile = filepath.Join(l.dir, f)
	}
	l.secret(&cfg.CRM.Bitrix24.WebhookURL, cfg.CRM.Bitrix24.WebhookURLFile, "crm.bitrix24", "webhook_url", EnvBitrix24WebhookURL)
	l.secret(&cfg.Recordings.LinkKey, cfg.Recordings.LinkKeyFile, "recordings", "link_key", EnvRecordingLinkKey)
	l.secret(&cfg.Report.SMTP.Password, cfg.Report.SMTP.PasswordFile, "report.smtp", "password", EnvSMTPPassword)
	l.secret(&cfg.Metrics.Token, cfg.Metrics.TokenFile, "metrics", "token", EnvMetricsToken)
	override(l, EnvListen, "listen", &cfg.Listen)
	override(l, EnvDataDir, "data_dir", &cfg.DataDir)
	override(l, EnvTimezone, "timezone", &cfg.Timezone)
	l.dsn(&cfg.ClickHouse)
	l.validate(&cfg)
	if len(l.errs) > 0 {
		// In file order; problems without a line (from the environment)
		// last. The sort is stable, so problems on one line keep the order
		// in which they were found.
		slices.SortStableFunc(l.errs, func(a, b *Error) int {
			return cmp.Compare(sortLine(a), sortLine(b))
		})
		return nil, l.errs
	}
	return &cfg, nil
}

func sortLine(e *Error) int {
	if e.Line == 0 {
		return math.MaxInt
	}
	return e.Line
}

// loader holds the state of one Parse: where values came from, and the
// problems found so far.
type loader struct {
	name   string // file name, for errors
	dir    string // directory against which relative token_file paths are resolved
	lookup func(string) (string, bool)
	lines  map[string]int    // YAML path → line in the file
	envs   map[string]string // YAML path → environment variable that set it
	errs   Errors
}

// parseYAML parses data as a single YAML document and returns its root node,
// or nil if data holds no document.
func (l *loader) parseYAML(data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, l.syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, l.syntaxError(err)
	default:
		return nil, &Error{Source: l.name, Line: next.Line, Err: errors.New("more than one YAML document")}
	}
	return doc.Content[0], nil
}

// syntaxError turns "yaml: line 3: problem" into an Error for line 3. The
// yaml package's errors have no type or sentinel to keep, so only the message
// is.
func (l *loader) syntaxError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, problem, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, problem
			}
		}
	}
	return &Error{Source: l.name, Line: line, Err: errors.New(msg)}
}

// failAt records a problem at a known line of the file.
func (l *loader) failAt(line int, path string, err error) {
	l.errs = append(l.errs, &Error{Source: l.name, Line: line, Path: path, Err: err})
}

// fail records a problem with the value at path, citing the environment
// variable that set it or else the line of the file it, or the nearest
// enclosing mapping or sequence, was written on.
func (l *loader) fail(path string, err error) {
	if env, ok := l.envs[path]; ok {
		l.errs = append(l.errs, &Error{Source: env, Err: err})
		return
	}
	l.failAt(l.line(path), path, err)
}

// line returns the line on which path, or the nearest enclosing mapping or
// sequence, was written, or 0 if it was not in the file.
func (l *loader) line(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if line, ok := l.lines[p]; ok {
			return line
		}
	}
	return 0
}

// override sets *dst, the value at path, from the environment variable name
// if that is set and not empty, and reports whether it did.
func override[T ~string](l *loader, name, path string, dst *T) bool {
	v, ok := l.lookup(name)
	if !ok || v == "" {
		return false
	}
	*dst = T(v)
	l.envs[path] = name
	return true
}

// token settles t.Token: from the environment variable env if set, else
// from t.TokenFile if set, else as given in the file. path is t's YAML path.
func (l *loader) token(t *TokenConfig, path, env string) {
	l.secret(&t.Token, t.TokenFile, path, "token", env)
}

// dsn settles the ClickHouse DSN, which may hold a password, as a secret:
// from CALLPULSE_CLICKHOUSE_DSN, else clickhouse.dsn_file, else the file's
// clickhouse.dsn or the default.
func (l *loader) dsn(c *ClickHouseConfig) {
	var dsn Secret
	if _, inFile := l.lines["clickhouse.dsn"]; inFile {
		dsn = Secret(c.DSN)
	}
	l.secret(&dsn, c.DSNFile, "clickhouse", "dsn", EnvClickHouseDSN)
	if dsn != "" {
		c.DSN = string(dsn)
	}
}

// secret settles the secret at path.key: from the environment variable env
// if set, else from the file named by path.key_file (file) if set, else as
// given in the configuration file. Setting both key and key_file is an error.
func (l *loader) secret(dst *Secret, file, path, key, env string) {
	valuePath, filePath := path+"."+key, path+"."+key+"_file"
	if *dst != "" && file != "" {
		l.fail(filePath, fmt.Errorf("set together with %s (line %d); use one or the other", valuePath, l.line(valuePath)))
	}
	if env != "" && override(l, env, valuePath, dst) {
		return
	}
	if file == "" || *dst != "" {
		return
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(l.dir, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		l.fail(filePath, err)
		return
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		l.fail(filePath, fmt.Errorf("%s is empty", file))
		return
	}
	*dst = Secret(v)
}

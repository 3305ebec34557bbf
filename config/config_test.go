package config

import (
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

func TestEmptyFileIsDefault(t *testing.T) {
	for name, data := range map[string]string{
		"empty":         "",
		"comments only": "# nothing here\n",
		"null document": "~\n",
		"empty mapping": "{}\n",
		"null sections": "log:\nclickhouse:\nmanagers:\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(data), "callpulse.yml", noEnv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if want := Default(); !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(%q) =\n%+v\nwant Default() =\n%+v", data, *got, want)
			}
		})
	}
}

func TestDefaultHelpers(t *testing.T) {
	c := Default()
	if c.Location() != time.UTC {
		t.Errorf("Location() = %v, want UTC", c.Location())
	}
	if got, want := c.ClickHouse.Addr(), "127.0.0.1:9000"; got != want {
		t.Errorf("ClickHouse.Addr() = %q, want %q", got, want)
	}
	if got, want := c.ClickHouse.Database(), "callpulse"; got != want {
		t.Errorf("ClickHouse.Database() = %q, want %q", got, want)
	}
}

func TestGood(t *testing.T) {
	got, err := Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	want := Config{
		Listen:         "0.0.0.0:9080",
		MaxConnections: 4096,
		DataDir:        "/var/lib/callpulse",
		Timezone:       "Europe/Moscow",
		DefaultRegion:  "RU",
		Log:            LogConfig{Level: "debug", Format: "json"},
		API: TokenConfig{
			Token:     "api-token-from-file",
			TokenFile: "api.token",
		},
		ClickHouse: ClickHouseConfig{
			DSN:          "clickhouse://callpulse:pa55@ch.internal:9440/sales?dial_timeout=2s&secure=true",
			BatchRows:    5000,
			BatchAge:     250 * time.Millisecond,
			DialTimeout:  3 * time.Second,
			QueryTimeout: time.Minute,
			Cluster:      "sales_cluster",
			addr:         "ch.internal:9440",
			database:     "sales",
		},
		Spool: SpoolConfig{MaxBytes: 2 * GiB, SegmentBytes: 128 * MiB},
		Webhooks: WebhooksConfig{
			MaxBodyBytes: 512 * KiB,
			Generic:      GenericConfig{Token: "generic-token-in-file"},
		},
		Targets: Targets{A: 0.7, B: 0.25, C: 0.05},
		Managers: []Manager{
			{ID: "alice", Name: "Алиса Петрова", Extensions: []string{"101", "102"}},
			{ID: "boris_k", Name: "Борис Кузнецов", Extensions: []string{"103"}},
			{ID: "night-shift", Name: "Ночная смена", Extensions: []string{"0200"}},
		},
		Lines: []Line{
			{Phone: "+74951112233", Source: "yandex_direct"},
			{Phone: "+74951112244", Source: "google.ads"},
			{Phone: "+78005553535", Source: "avito"},
			{Phone: "+375291234567", Source: "instagram_by"},
		},
		Metrics: MetricsConfig{RefreshInterval: 15 * time.Second},
		Debug:   DebugConfig{PprofListen: "127.0.0.1:6060"},
	}

	if got.Location() == nil || got.Location().String() != "Europe/Moscow" {
		t.Errorf("Location() = %v, want Europe/Moscow", got.Location())
	}
	want.location = got.location
	// good.yml leaves the PBX sections at their defaults.
	d := Default()
	want.Webhooks.Zadarma, want.Webhooks.Mango, want.Webhooks.Gravitel = d.Webhooks.Zadarma, d.Webhooks.Mango, d.Webhooks.Gravitel
	want.Asterisk, want.Recordings, want.Live = d.Asterisk, d.Recordings, d.Live
	want.Analytics, want.Scoring, want.Report, want.CRM = d.Analytics, d.Scoring, d.Report, d.CRM
	want.Report.location = got.Report.location
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Load(testdata/good.yml) =\n%+v\nwant\n%+v", *got, want)
	}

	if got := got.Log.SlogLevel(); got.String() != "DEBUG" {
		t.Errorf("SlogLevel() = %v, want DEBUG", got)
	}
}

func TestHelpers(t *testing.T) {
	c, err := Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	byExt := c.ManagerByExtension()
	wantExt := map[string]string{"101": "alice", "102": "alice", "103": "boris_k", "0200": "night-shift"}
	if len(byExt) != len(wantExt) {
		t.Errorf("ManagerByExtension() has %d entries, want %d", len(byExt), len(wantExt))
	}
	for ext, id := range wantExt {
		if byExt[ext].ID != id {
			t.Errorf("ManagerByExtension()[%q].ID = %q, want %q", ext, byExt[ext].ID, id)
		}
	}

	wantSrc := map[string]string{
		"+74951112233":  "yandex_direct",
		"+74951112244":  "google.ads",
		"+78005553535":  "avito",
		"+375291234567": "instagram_by",
	}
	if got := c.SourceByLine(); !reflect.DeepEqual(got, wantSrc) {
		t.Errorf("SourceByLine() = %v, want %v", got, wantSrc)
	}

	if got, want := c.ManagerIDs(), []string{"alice", "boris_k", "night-shift"}; !slices.Equal(got, want) {
		t.Errorf("ManagerIDs() = %q, want %q", got, want)
	}
}

func TestExampleLoads(t *testing.T) {
	const path = "../deploy/callpulse.example.yml"
	c, err := Load(path, noEnv)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if len(c.Managers) == 0 || len(c.Lines) == 0 {
		t.Errorf("%s: want example managers and lines, got %d and %d", path, len(c.Managers), len(c.Lines))
	}
	// The example documents the defaults, so apart from the settings it
	// sets to show how, it must agree with Default.
	c.Timezone, c.location, c.Report.location = "UTC", time.UTC, time.UTC
	c.Managers, c.Lines = nil, nil
	if want := Default(); !reflect.DeepEqual(*c, want) {
		t.Errorf("%s disagrees with Default():\n%+v\nwant\n%+v", path, *c, want)
	}
}

// TestDevConfigLoads guards the configuration `make run` uses.
func TestDevConfigLoads(t *testing.T) {
	const path = "../deploy/dev/callpulse.yml"
	if _, err := Load(path, noEnv); err != nil {
		t.Errorf("Load(%s): %v", path, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yml", noEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: error %v, want fs.ErrNotExist", err)
	}
}

// TestMarshalRoundTrip checks that the yaml tags and the decoder agree: a
// configuration written with yaml.Marshal reads back the same.
func TestMarshalRoundTrip(t *testing.T) {
	c, err := Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// Marshalling redacts tokens; leave none to redact.
	c.API = TokenConfig{}
	c.Webhooks.Generic = GenericConfig{}

	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Parse(data, "marshalled.yml", noEnv)
	if err != nil {
		t.Fatalf("Parse of marshalled configuration: %v\n%s", err, data)
	}
	if got.Location().String() != c.Location().String() {
		t.Errorf("round trip Location() = %v, want %v", got.Location(), c.Location())
	}
	got.location = c.location
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, c)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	data := strings.Join([]string{
		"listen: nope",           // 1
		"timezone: Mars/Olympus", // 2
		"log:",                   // 3
		"  level: loud",          // 4
		"  colour: yes",          // 5
		"clickhouse:",            // 6
		"  batch_age: soon",      // 7
	}, "\n")
	_, err := Parse([]byte(data), "callpulse.yml", noEnv)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error %v (%T), want Errors", err, err)
	}
	want := []string{
		`callpulse.yml:1: listen: invalid address "nope": want host:port, such as 127.0.0.1:8080 or :8080`,
		`callpulse.yml:2: timezone: unknown time zone "Mars/Olympus"`,
		`callpulse.yml:4: log.level: unknown level "loud": want debug, info, warn or error`,
		`callpulse.yml:5: field log.colour not found`,
		`callpulse.yml:7: clickhouse.batch_age: invalid duration "soon": want a number with a unit, such as 500ms, 30s or 5m`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != len(want) {
		t.Errorf("len(Errors) = %d, want %d", len(errs), len(want))
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 || e.Path != "listen" {
		t.Errorf("errors.As(*Error) = %+v, want the listen error", e)
	}
}

func TestValidateForServe(t *testing.T) {
	c := Default()
	err := c.ValidateForServe()
	want := "api.token: not set; set CALLPULSE_API_TOKEN, or api.token or api.token_file in the configuration file\n" +
		"webhooks.generic.token: not set; set CALLPULSE_GENERIC_TOKEN, or webhooks.generic.token or webhooks.generic.token_file in the configuration file"
	if err == nil || err.Error() != want {
		t.Errorf("ValidateForServe() of Default() = %v, want\n%s", err, want)
	}

	c.API.Token = "one"
	c.Webhooks.Generic.Token = "one"
	want = "webhooks.generic.token: must differ from api.token: the PBX must not be able to read analytics"
	if err := c.ValidateForServe(); err == nil || err.Error() != want {
		t.Errorf("ValidateForServe() with equal tokens = %v, want %s", err, want)
	}

	c.Webhooks.Generic.Token = "two"
	if err := c.ValidateForServe(); err != nil {
		t.Errorf("ValidateForServe() with both tokens = %v, want nil", err)
	}
}

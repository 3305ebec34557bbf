package config

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestBadFixtures loads each file in testdata/bad, which holds one mistake,
// and checks the one error it must yield, line number included.
func TestBadFixtures(t *testing.T) {
	tests := map[string]string{
		"unknown_key.yml":             `:5: field tymezone not found`,
		"gravitel_route_category.yml": `:6: webhooks.gravitel.routing[1].category: "hot": want A, B, C, unknown, new or refused`,
		"mango_half.yml":              `:2: webhooks.mango: set both api_key and api_salt, or neither`,
		"recording_host.yml":          `:3: webhooks.generic.recording_hosts[1]: "http://x/": want a host name or *.domain`,
		"scoring_action.yml":          `:4: scoring.points.Pricing: invalid action id "Pricing": want a-z, 0-9 and _, starting with a letter`,
		"callback_sla.yml":            `:2: analytics.callback_sla: must be positive, got 0s`,
		"bool.yml":                    `:2: live.show_phones: expected true or false, got "maybe"`,
		"asterisk_url.yml":            `:2: asterisk.url: "ws://pbx:8088": want http or https`,
		"unknown_nested_key.yml":      `:3: field log.fromat not found`,
		"repeated_key.yml":            `:3: listen: repeated key (first at line 1)`,
		"syntax.yml":                  `:4: mapping values are not allowed in this context`,
		"tab_indent.yml":              `:2: found character that cannot start any token`,
		"two_documents.yml":           `:2: more than one YAML document`,
		"top_level_sequence.yml":      `:1: expected a mapping, got a sequence`,
		"wrong_kind.yml":              `:2: managers: expected a sequence, got a mapping`,
		"listen.yml":                  `:1: listen: invalid address "localhost": want host:port, such as 127.0.0.1:8080 or :8080`,
		"pprof_listen.yml":            `:2: debug.pprof_listen: invalid address ":6060": want host:port with a host, such as 127.0.0.1:6060`,
		"max_connections.yml":         `:2: max_connections: must be at least 1`,
		"timezone.yml":                `:3: timezone: unknown time zone "Moscow/Europe"`,
		"timezone_local.yml":          `:1: timezone: "Local" depends on the host; name an IANA zone such as Europe/Moscow`,
		"region.yml":                  `:1: default_region: unknown region "RUS": want an ISO 3166-1 alpha-2 code with a calling code, such as RU`,
		"log_level.yml":               `:2: log.level: unknown level "verbose": want debug, info, warn or error`,
		"log_format.yml":              `:2: log.format: unknown format "logfmt": want text or json`,
		"targets_sum.yml":             `:1: targets: A+B+C must be 1 (±0.001), got 0.96`,
		"targets_partial.yml":         `:2: targets: A+B+C must be 1 (±0.001), got 0.7`,
		"target_negative.yml":         `:4: targets.C: must be between 0 and 1, got -0.01`,
		"target_not_number.yml":       `:2: targets.A: expected a number, got "80%"`,
		"duplicate_manager_id.yml":    `:8: managers[2].id: duplicate id "alice" (first at line 2)`,
		"manager_id.yml":              `:2: managers[0].id: invalid id "Alice": want 1 to 32 characters from a-z, 0-9, _ and -`,
		"manager_name.yml":            `:2: managers[0].name: must not be empty`,
		"manager_no_extensions.yml":   `:4: managers[0].extensions: must list at least one extension`,
		"duplicate_extension.yml":     `:9: managers[1].extensions[1]: extension "102" already belongs to manager "alice" (line 4)`,
		"empty_extension.yml":         `:4: managers[0].extensions[1]: invalid extension "": must be non-empty and without white space`,
		"line_phone.yml":              `:4: lines[1].phone: "12345": wrong length for its country: not a valid phone number`,
		"duplicate_line.yml":          `:5: lines[1].phone: duplicate number +74951112233, written "84951112233" (first at line 3)`,
		"line_source.yml":             `:3: lines[0].source: invalid source "Yandex Direct": want 1 to 64 characters from a-z, 0-9, _, . and -`,
		"dsn_database.yml":            `:2: clickhouse.dsn: no database: want clickhouse://[user[:password]@]host:port/database[?options]`,
		"dsn_database_name.yml":       `:2: clickhouse.dsn: invalid database name "call-pulse": want letters, digits and _`,
		"cluster_name.yml":            `:2: clickhouse.cluster: invalid cluster name "sales-cluster": want letters, digits and _`,
		"dsn_scheme.yml":              `:2: clickhouse.dsn: scheme "http" is not clickhouse: want clickhouse://[user[:password]@]host:port/database[?options]`,
		"dsn_port.yml":                `:2: clickhouse.dsn: host "127.0.0.1" is not host:port: want clickhouse://[user[:password]@]host:port/database[?options]`,
		"batch_rows.yml":              `:2: clickhouse.batch_rows: expected an integer, got "10k"`,
		"batch_rows_zero.yml":         `:2: clickhouse.batch_rows: must be positive, got 0`,
		"byte_size.yml":               `:2: spool.max_bytes: invalid byte size "1.5GiB": want a whole number of bytes, optionally followed by a unit (B, KB, MB, GB, KiB, MiB or GiB)`,
		"byte_size_unit.yml":          `:2: spool.max_bytes: invalid byte size "1Gb": unknown unit "Gb" (want B, KB, MB, GB, KiB, MiB or GiB)`,
		"segment_bytes.yml":           `:3: spool.segment_bytes: 128MiB is more than spool.max_bytes (64MiB)`,
		"duration.yml":                `:2: clickhouse.batch_age: invalid duration "1 second": want a number with a unit, such as 500ms, 30s or 5m`,
		"duration_unitless.yml":       `:2: metrics.refresh_interval: invalid duration "30": want a number with a unit, such as 500ms, 30s or 5m`,
		"duration_negative.yml":       `:2: clickhouse.query_timeout: must be positive, got -5s`,
		"token_and_token_file.yml":    `:3: api.token_file: set together with api.token (line 2); use one or the other`,
		"token_file_missing.yml":      `:3: webhooks.generic.token_file: open testdata/bad/missing.token: no such file or directory`,
		"token_file_empty.yml":        `:2: api.token_file: testdata/bad/empty.token is empty`,
		"bitrix24_both.yml":           `:7: crm.bitrix24.webhook_url: set together with endpoint; use the application (endpoint, client_id, client_secret) or the webhook, not both`,
		"bitrix24_no_user.yml":        `:2: crm.bitrix24.default_user_id: required without users or inner_phones: register and finish need a Bitrix24 user`,
		"bitrix24_user_id.yml":        `:5: crm.bitrix24.users.101: "ivanov": want a numeric Bitrix24 user id`,
		"bitrix24_task.yml":           `:4: crm.bitrix24.task: "call": want todo (crm.activity.todo.add) or task (tasks.task.add)`,
	}

	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected error in TestBadFixtures", f)
		}
	}

	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", name)
			want := path + want
			c, err := Load(path, noEnv)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want error %s", path, c, want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) error %q is %T, want Errors", path, err, err)
			}
			if len(errs) != 1 || err.Error() != want {
				t.Errorf("Load(%s) errors:\n%v\nwant the one error\n%s", path, err, want)
			}
		})
	}
}

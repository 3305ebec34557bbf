package asterisk

import (
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		want   string // substring of the error; "" = valid
	}{
		{"valid", func(*Options) {}, ""},
		{"wss", func(o *Options) { o.URL = "wss://pbx:8089/prefix" }, ""},
		{"no URL", func(o *Options) { o.URL = "" }, "empty URL"},
		{"bad scheme", func(o *Options) { o.URL = "ftp://pbx" }, "scheme"},
		{"no host", func(o *Options) { o.URL = "http://" }, "no host"},
		{"credentials in URL", func(o *Options) { o.URL = "http://u:p@pbx:8088" }, "credentials"},
		{"query in URL", func(o *Options) { o.URL = "http://pbx:8088/?app=x" }, "query"},
		{"no app", func(o *Options) { o.App = " " }, "app"},
		{"no user", func(o *Options) { o.User = "" }, "user"},
		{"colon in user", func(o *Options) { o.User = "a:b" }, "':'"},
		{"no password", func(o *Options) { o.Password = "" }, "CALLPULSE_ASTERISK_PASSWORD"},
		{"no normalizer", func(o *Options) { o.Normalizer = nil }, "normalizer"},
		{"no appender", func(o *Options) { o.Appender = nil }, "appender"},
		{"negative buffer", func(o *Options) { o.BufferSize = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.modify(&opts)
			err := opts.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error contains the password")
			}
		})
	}
}

func TestEventsURL(t *testing.T) {
	tests := []struct {
		url, want string
		apiKey    bool
		noSubAll  bool
	}{
		{url: "http://pbx:8088", want: "ws://pbx:8088/ari/events?app=callpulse&subscribeAll=true"},
		{url: "https://pbx/asterisk/", want: "wss://pbx/asterisk/ari/events?app=callpulse&subscribeAll=true"},
		{url: "http://pbx:8088", noSubAll: true, want: "ws://pbx:8088/ari/events?app=callpulse"},
		{url: "http://pbx:8088", apiKey: true,
			want: "ws://pbx:8088/ari/events?api_key=" + testUser + "%3A" + testPassword + "&app=callpulse&subscribeAll=true"},
	}
	for _, tt := range tests {
		opts := testOptions(t)
		opts.URL, opts.APIKeyInQuery, opts.DisableSubscribeAll = tt.url, tt.apiKey, tt.noSubAll
		s := newSource(t, opts)
		if got := s.eventsURL(true); got != tt.want {
			t.Errorf("eventsURL(%s) = %s, want %s", tt.url, got, tt.want)
		}
		if strings.Contains(s.logURL(), testPassword) {
			t.Errorf("logURL contains the password: %s", s.logURL())
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 5, 14, 7, 21, 5, 123e6, time.UTC)
	for _, s := range []string{
		"2024-05-14T10:21:05.123+0300", // ARI's %FT%T.%q%z
		"2024-05-14T10:21:05.123+03:00",
		"2024-05-14T07:21:05.123Z",
	} {
		got, err := parseTime("timestamp", s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2024-05-14T10:21:05.123", "2024-05-14 10:21:05+0300", "1715671265",
		"0000-01-01T0:00:00+0100", "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"} {
		if _, err := parseTime("timestamp", s); err == nil {
			t.Errorf("parseTime(%q) succeeded", s)
		}
	}
}

func TestDirection(t *testing.T) {
	chn := func(name, caller, context string) *channel {
		return &channel{Name: name, Caller: callerID{Number: caller}, Dialplan: dialplan{Context: context}}
	}
	tests := []struct {
		name    string
		in, out []string
		ch      *channel
		want    call.Direction
	}{
		{"trunk caller", nil, nil, chn("PJSIP/trunk-0000002a", "79161234567", "from-trunk"), call.DirectionInbound},
		{"anonymous caller", nil, nil, chn("PJSIP/trunk-0000002a", "anonymous", "from-trunk"), call.DirectionInbound},
		{"extension caller", nil, nil, chn("PJSIP/101-0000002b", "101", "from-internal"), call.DirectionOutbound},
		{"rewritten caller id, extension endpoint", nil, nil, chn("PJSIP/101-0000002b", "74951234567", "macro-dialout"), call.DirectionOutbound},
		{"named endpoint, extension caller", nil, nil, chn("SIP/ivanov-00000a7e", "101", "x"), call.DirectionOutbound},
		{"seven digits is a number", nil, nil, chn("PJSIP/trunk-1", "1234567", "x"), call.DirectionInbound},
		{"outbound context wins", []string{"from-trunk"}, []string{"from-crm"}, chn("PJSIP/trunk-1", "79161234567", "from-crm"), call.DirectionOutbound},
		{"inbound context wins", []string{"from-pbx2"}, nil, chn("IAX2/pbx2-1", "201", "from-pbx2"), call.DirectionInbound},
		{"unlisted context uses the rule", []string{"from-trunk"}, []string{"from-internal"}, chn("PJSIP/102-1", "102", "ext-local"), call.DirectionOutbound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.InboundContexts, opts.OutboundContexts = tt.in, tt.out
			if got := newSource(t, opts).direction(tt.ch); got != tt.want {
				t.Errorf("direction = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatusMaps(t *testing.T) {
	causes := map[int]call.Status{
		16: call.StatusCancelled, 19: call.StatusCancelled, 21: call.StatusCancelled, 0: call.StatusCancelled,
		17: call.StatusBusy, 1: call.StatusFailed, 34: call.StatusFailed, 38: call.StatusFailed,
	}
	for cause, want := range causes {
		if got := causeStatus(cause); got != want {
			t.Errorf("causeStatus(%d) = %v, want %v", cause, got, want)
		}
	}
	dials := []struct {
		status string
		dir    call.Direction
		want   call.Status
	}{
		{"ANSWER", call.DirectionInbound, call.StatusAnswered},
		{"ANSWER", call.DirectionUnknown, call.StatusAnswered},
		{"BUSY", call.DirectionOutbound, call.StatusBusy},
		{"BUSY", call.DirectionInbound, call.StatusNone}, // a busy agent does not make a call busy
		{"CHANUNAVAIL", call.DirectionOutbound, call.StatusFailed},
		{"CONGESTION", call.DirectionOutbound, call.StatusFailed},
		{"NOANSWER", call.DirectionOutbound, call.StatusCancelled},
		{"CANCEL", call.DirectionOutbound, call.StatusCancelled},
		{"", call.DirectionOutbound, call.StatusNone},
		{"RINGING", call.DirectionOutbound, call.StatusNone},
	}
	for _, tt := range dials {
		if got := dialStatus(tt.status, tt.dir); got != tt.want {
			t.Errorf("dialStatus(%q, %v) = %v, want %v", tt.status, tt.dir, got, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for name, want := range map[string]string{
		"PJSIP/101-0000002b":      "101",
		"SIP/trunk-00000a7e":      "trunk",
		"PJSIP/my-trunk-0000002a": "my-trunk",
		"DAHDI/1-1":               "1",
		"PJSIP/101":               "101",
		"garbage":                 "",
	} {
		if got := endpoint(name); got != want {
			t.Errorf("endpoint(%q) = %q, want %q", name, got, want)
		}
	}
}

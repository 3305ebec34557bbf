package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/callpulse/callpulse/client"
)

// Environment variables of the CRM secrets.
const (
	EnvAmoCRMToken          = "CALLPULSE_AMOCRM_TOKEN"
	EnvBitrix24ClientSecret = "CALLPULSE_BITRIX24_CLIENT_SECRET"
	EnvBitrix24WebhookURL   = "CALLPULSE_BITRIX24_WEBHOOK_URL"
	// EnvRecordingLinkKey signs the recording links put on CRM cards.
	EnvRecordingLinkKey = "CALLPULSE_RECORDING_LINK_KEY"
)

// CRMConfig configures CRM sync (crmsync). amoCRM is enabled when its
// base_url is set, Bitrix24 when its endpoint or webhook_url is.
type CRMConfig struct {
	// PublicURL is callpulse's address as the CRM reaches it; recording links
	// sent to the CRM start with it.
	PublicURL     string        `yaml:"public_url"`
	Settle        time.Duration `yaml:"settle"`
	RecordingWait time.Duration `yaml:"recording_wait"`
	RecordingPoll time.Duration `yaml:"recording_poll"`
	GiveUpAfter   time.Duration `yaml:"give_up_after"`
	// RepeatLeads notifies the client's manager with priority when a
	// client of the base calls again after RepeatLeadGap of silence.
	RepeatLeads   bool           `yaml:"repeat_leads"`
	RepeatLeadGap time.Duration  `yaml:"repeat_lead_gap"`
	AmoCRM        AmoCRMConfig   `yaml:"amocrm"`
	Bitrix24      Bitrix24Config `yaml:"bitrix24"`
}

// Bitrix24Config configures one Bitrix24 portal: a local server-side
// application (endpoint, client_id, client_secret, tokens_file) pushes
// calls and pulls leads and deals; an incoming webhook (webhook_url) can
// only pull, because telephony methods refuse webhooks (WRONG_AUTH_TYPE).
type Bitrix24Config struct {
	Endpoint         string `yaml:"endpoint"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     Secret `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// TokensFile holds the OAuth tokens, written by `callpulse
	// bitrix24-authorize` and rewritten on every refresh ("" =
	// <data_dir>/crm/bitrix24-tokens.json).
	TokensFile     string  `yaml:"tokens_file"`
	OAuthURL       string  `yaml:"oauth_url"`
	WebhookURL     Secret  `yaml:"webhook_url"`
	WebhookURLFile string  `yaml:"webhook_url_file"`
	Rate           float64 `yaml:"rate"`
	Burst          int     `yaml:"burst"`
	Workers        int     `yaml:"workers"`
	DefaultUserID  string  `yaml:"default_user_id"`
	CreateUnknown  bool    `yaml:"create_unknown"`
	CRMSource      string  `yaml:"crm_source"`
	AddToChat      bool    `yaml:"add_to_chat"`
	// Task is todo (crm.activity.todo.add) or task (tasks.task.add).
	Task          string `yaml:"task"`
	TaskCreatorID string `yaml:"task_creator_id"`
	// Users maps PBX extensions to Bitrix24 user ids.
	Users map[string]string `yaml:"users"`
	// HotLeadStatus is the lead STATUS_ID a lead moves to when its score
	// crosses the scoring threshold; "": not moved.
	HotLeadStatus string `yaml:"hot_lead_status"`
	// InnerPhones matches extensions without a users entry to the Bitrix24
	// user whose internal number they are (the portal keeps the mapping).
	InnerPhones bool               `yaml:"inner_phones"`
	Pull        Bitrix24PullConfig `yaml:"pull"`
}

// Enabled reports whether a portal is configured.
func (b Bitrix24Config) Enabled() bool { return b.Endpoint != "" || b.WebhookURL != "" }

// Bitrix24PullConfig configures the scheduled pull of leads and deals.
type Bitrix24PullConfig struct {
	Interval        time.Duration     `yaml:"interval"`
	CategoryField   string            `yaml:"category_field"`
	CategoryMap     map[string]string `yaml:"category_map"`
	NeedField       string            `yaml:"need_field"`
	BudgetField     string            `yaml:"budget_field"`
	UrgencyField    string            `yaml:"urgency_field"`
	FlagMap         map[string]string `yaml:"flag_map"`
	SourceField     string            `yaml:"source_field"`
	SourceMap       map[string]string `yaml:"source_map"`
	LossReasonField string            `yaml:"loss_reason_field"`
	LossReasonMap   map[string]string `yaml:"loss_reason_map"`
	LeadsAsDeals    bool              `yaml:"leads_as_deals"`
}

// AmoCRMConfig configures one amoCRM (Kommo) account.
type AmoCRMConfig struct {
	BaseURL     string  `yaml:"base_url"`
	Token       Secret  `yaml:"token"`
	TokenFile   string  `yaml:"token_file"`
	Rate        float64 `yaml:"rate"`
	Burst       int     `yaml:"burst"`
	Workers     int     `yaml:"workers"`
	Source      string  `yaml:"source"`
	CreateLeads bool    `yaml:"create_leads"`
	// HotLeadStatusID (and HotLeadPipelineID) is the stage a lead moves to
	// when its score crosses the scoring threshold; 0: not moved.
	HotLeadStatusID   int64 `yaml:"hot_lead_status_id"`
	HotLeadPipelineID int64 `yaml:"hot_lead_pipeline_id"`
	// Users maps PBX extensions to amoCRM user ids.
	Users map[string]string `yaml:"users"`
	Pull  AmoCRMPullConfig  `yaml:"pull"`
}

// AmoCRMPullConfig configures the scheduled pull of leads.
type AmoCRMPullConfig struct {
	Interval      time.Duration     `yaml:"interval"`
	CategoryField string            `yaml:"category_field"`
	CategoryMap   map[string]string `yaml:"category_map"`
	NeedField     string            `yaml:"need_field"`
	BudgetField   string            `yaml:"budget_field"`
	UrgencyField  string            `yaml:"urgency_field"`
	FlagMap       map[string]string `yaml:"flag_map"`
	SourceField   string            `yaml:"source_field"`
	SourceMap     map[string]string `yaml:"source_map"`
	PipelineIDs   []int             `yaml:"pipeline_ids"`
}

func defaultCRM() CRMConfig {
	return CRMConfig{
		Settle: 30 * time.Second, RecordingWait: 2 * time.Hour, RecordingPoll: time.Minute, GiveUpAfter: 72 * time.Hour,
		RepeatLeads: true, RepeatLeadGap: 30 * 24 * time.Hour,
		AmoCRM: AmoCRMConfig{Rate: 7, Burst: 7, Workers: 2, Source: "callpulse", CreateLeads: true,
			Pull: AmoCRMPullConfig{Interval: 15 * time.Minute}},
		Bitrix24: Bitrix24Config{Rate: 2, Burst: 48, Workers: 2, CreateUnknown: true, Task: "todo", InnerPhones: true,
			Pull: Bitrix24PullConfig{Interval: 15 * time.Minute, SourceField: "SOURCE_ID"}},
	}
}

func (l *loader) validateCRM(c *Config) {
	r := c.CRM
	for path, d := range map[string]time.Duration{"crm.settle": r.Settle, "crm.recording_wait": r.RecordingWait,
		"crm.recording_poll": r.RecordingPoll, "crm.give_up_after": r.GiveUpAfter, "crm.repeat_lead_gap": r.RepeatLeadGap} {
		l.positive(path, d)
	}
	if r.PublicURL != "" {
		l.httpURL("crm.public_url", r.PublicURL)
	}
	l.validateAmoCRM(r.AmoCRM)
	l.validateBitrix24(r.Bitrix24)
}

func (l *loader) validateAmoCRM(a AmoCRMConfig) {
	if a.BaseURL == "" {
		return
	}
	l.httpURL("crm.amocrm.base_url", a.BaseURL)
	if a.Token == "" {
		l.fail("crm.amocrm.token", fmt.Errorf("not set; set %s or crm.amocrm.token_file", EnvAmoCRMToken))
	}
	if a.Rate <= 0 || a.Burst < 1 || a.Workers < 1 {
		l.fail("crm.amocrm", errors.New("rate must be positive, burst and workers at least 1"))
	}
	l.categoryMap("crm.amocrm.pull.category_map", a.Pull.CategoryMap)
	l.flagMap("crm.amocrm.pull.flag_map", a.Pull.FlagMap)
	if a.Pull.Interval < 0 {
		l.fail("crm.amocrm.pull.interval", errors.New("must be 0 (no pull) or positive"))
	}
}

func (l *loader) validateBitrix24(b Bitrix24Config) {
	if !b.Enabled() {
		return
	}
	const p = "crm.bitrix24"
	switch {
	case b.Endpoint != "" && b.WebhookURL != "":
		l.fail(p+".webhook_url", errors.New("set together with endpoint; use the application (endpoint, client_id, client_secret) or the webhook, not both"))
	case b.Endpoint != "":
		l.httpURL(p+".endpoint", b.Endpoint)
		if b.ClientID == "" {
			l.fail(p+".client_id", errors.New("required with endpoint (the application's client_id)"))
		}
		if b.ClientSecret == "" {
			l.fail(p+".client_secret", fmt.Errorf("not set; set %s or %s.client_secret_file", EnvBitrix24ClientSecret, p))
		}
		if b.OAuthURL != "" {
			l.httpURL(p+".oauth_url", b.OAuthURL)
		}
	default:
		if u, err := url.Parse(string(b.WebhookURL)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			// The webhook URL holds a secret code: never echo it.
			l.fail(p+".webhook_url", errors.New("want https://<portal>/rest/<user>/<code>/"))
		}
	}
	if b.Rate <= 0 || b.Burst < 1 || b.Workers < 1 {
		l.fail(p, errors.New("rate must be positive, burst and workers at least 1"))
	}
	if b.Task != "todo" && b.Task != "task" {
		l.fail(p+".task", fmt.Errorf("%q: want todo (crm.activity.todo.add) or task (tasks.task.add)", b.Task))
	}
	for key, id := range map[string]string{"default_user_id": b.DefaultUserID, "task_creator_id": b.TaskCreatorID} {
		if id != "" && !isNumericID(id) {
			l.fail(p+"."+key, fmt.Errorf("%q: want a numeric Bitrix24 user id", id))
		}
	}
	for ext, id := range b.Users {
		if !isNumericID(id) {
			l.fail(p+".users."+ext, fmt.Errorf("%q: want a numeric Bitrix24 user id", id))
		}
	}
	if b.Endpoint != "" && b.DefaultUserID == "" && len(b.Users) == 0 && !b.InnerPhones {
		l.fail(p+".default_user_id", errors.New("required without users or inner_phones: register and finish need a Bitrix24 user"))
	}
	l.categoryMap(p+".pull.category_map", b.Pull.CategoryMap)
	l.flagMap(p+".pull.flag_map", b.Pull.FlagMap)
	if b.Pull.Interval < 0 {
		l.fail(p+".pull.interval", errors.New("must be 0 (no pull) or positive"))
	}
}

func (l *loader) categoryMap(path string, m map[string]string) {
	for raw, cat := range m {
		if v, err := client.ParseCategory(cat); err != nil || !v.Known() {
			l.fail(path+"."+raw, fmt.Errorf("%q: want A, B or C", cat))
		}
	}
}

func (l *loader) flagMap(path string, m map[string]string) {
	for raw, f := range m {
		if v, err := client.ParseFlag(f); err != nil || v == client.FlagUnknown {
			l.fail(path+"."+raw, fmt.Errorf("%q: want yes or no", f))
		}
	}
}

func isNumericID(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != "" && s != "0"
}

package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/client"
)

// EnvAmoCRMToken is the environment variable of the amoCRM token.
const EnvAmoCRMToken = "CALLPULSE_AMOCRM_TOKEN"

// CRMConfig configures CRM sync (crmsync). amoCRM is enabled when its
// base_url is set.
type CRMConfig struct {
	// PublicURL is callpulse's address as the CRM reaches it; recording links
	// sent to the CRM start with it.
	PublicURL     string        `yaml:"public_url"`
	Settle        time.Duration `yaml:"settle"`
	RecordingWait time.Duration `yaml:"recording_wait"`
	RecordingPoll time.Duration `yaml:"recording_poll"`
	GiveUpAfter   time.Duration `yaml:"give_up_after"`
	AmoCRM        AmoCRMConfig  `yaml:"amocrm"`
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
		AmoCRM: AmoCRMConfig{Rate: 7, Burst: 7, Workers: 2, Source: "callpulse", CreateLeads: true,
			Pull: AmoCRMPullConfig{Interval: 15 * time.Minute}},
	}
}

func (l *loader) validateCRM(c *Config) {
	r := c.CRM
	for path, d := range map[string]time.Duration{"crm.settle": r.Settle, "crm.recording_wait": r.RecordingWait,
		"crm.recording_poll": r.RecordingPoll, "crm.give_up_after": r.GiveUpAfter} {
		l.positive(path, d)
	}
	a := r.AmoCRM
	if a.BaseURL == "" {
		return
	}
	l.httpURL("crm.amocrm.base_url", a.BaseURL)
	if r.PublicURL != "" {
		l.httpURL("crm.public_url", r.PublicURL)
	}
	if a.Token == "" {
		l.fail("crm.amocrm.token", fmt.Errorf("not set; set %s or crm.amocrm.token_file", EnvAmoCRMToken))
	}
	if a.Rate <= 0 || a.Burst < 1 || a.Workers < 1 {
		l.fail("crm.amocrm", errors.New("rate must be positive, burst and workers at least 1"))
	}
	for raw, cat := range a.Pull.CategoryMap {
		if v, err := client.ParseCategory(cat); err != nil || !v.Known() {
			l.fail("crm.amocrm.pull.category_map."+raw, fmt.Errorf("%q: want A, B or C", cat))
		}
	}
	for raw, f := range a.Pull.FlagMap {
		if v, err := client.ParseFlag(f); err != nil || v == client.FlagUnknown {
			l.fail("crm.amocrm.pull.flag_map."+raw, fmt.Errorf("%q: want yes or no", f))
		}
	}
	if a.Pull.Interval < 0 {
		l.fail("crm.amocrm.pull.interval", errors.New("must be 0 (no pull) or positive"))
	}
}

package config

import (
	"fmt"
	"net/mail"
	"time"

	"github.com/robfig/cron/v3"
)

// EnvSMTPPassword is the environment variable of the SMTP password.
const EnvSMTPPassword = "CALLPULSE_SMTP_PASSWORD"

// ReportConfig configures the nightly e-mail report. It is enabled when it
// has recipients.
type ReportConfig struct {
	// Schedule is a five-field cron expression, in Timezone.
	Schedule string `yaml:"schedule"`
	// Timezone of the schedule (default: the top-level timezone). Report
	// days always follow the top-level timezone, as the API does.
	Timezone string `yaml:"timezone"`
	// Language is ru or en.
	Language string `yaml:"language"`
	// WeeklyOnMonday adds the past week to Monday's report.
	WeeklyOnMonday bool              `yaml:"weekly_on_monday"`
	From           string            `yaml:"from"`
	SMTP           SMTPConfig        `yaml:"smtp"`
	Recipients     []ReportRecipient `yaml:"recipients"`

	location *time.Location
}

// SMTPConfig is the mail server the report is sent through.
type SMTPConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls, implicit or none.
	TLS          string `yaml:"tls"`
	User         string `yaml:"user"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// ReportRecipient is one address and what it sees: the whole team, or one
// manager's own numbers.
type ReportRecipient struct {
	Email string `yaml:"email"`
	// Scope is team or manager.
	Scope string `yaml:"scope"`
	// Manager is a manager id, with scope manager.
	Manager string `yaml:"manager"`
}

// Enabled reports whether the report has recipients.
func (r ReportConfig) Enabled() bool { return len(r.Recipients) > 0 }

// Location is the time zone of the schedule.
func (r ReportConfig) Location() *time.Location { return r.location }

func (l *loader) validateReport(c *Config) {
	r := &c.Report
	r.location = c.location
	if r.Timezone != "" {
		loc, err := time.LoadLocation(r.Timezone)
		if err != nil || r.Timezone == "Local" {
			l.fail("report.timezone", fmt.Errorf("unknown time zone %q", r.Timezone))
		} else {
			r.location = loc
		}
	}
	if _, err := cron.ParseStandard(r.Schedule); err != nil {
		l.fail("report.schedule", fmt.Errorf("%q: want a five-field cron expression such as \"0 7 * * *\"", r.Schedule))
	}
	if r.Language != "ru" && r.Language != "en" {
		l.fail("report.language", fmt.Errorf("%q: want ru or en", r.Language))
	}
	switch r.SMTP.TLS {
	case "starttls", "implicit", "none":
	default:
		l.fail("report.smtp.tls", fmt.Errorf("%q: want starttls, implicit or none", r.SMTP.TLS))
	}
	if r.SMTP.Port < 0 || r.SMTP.Port > 65535 {
		l.fail("report.smtp.port", fmt.Errorf("%d: want 1 to 65535 (0 = the TLS mode's default)", r.SMTP.Port))
	}
	if !r.Enabled() {
		return
	}
	if _, err := mail.ParseAddress(r.From); err != nil {
		l.fail("report.from", fmt.Errorf("%q: want an e-mail address", r.From))
	}
	if r.SMTP.Host == "" {
		l.fail("report.smtp.host", errEmpty)
	}
	ids := map[string]bool{}
	for _, m := range c.Managers {
		ids[m.ID] = true
	}
	for i, rc := range r.Recipients {
		p := fmt.Sprintf("report.recipients[%d]", i)
		if _, err := mail.ParseAddress(rc.Email); err != nil {
			l.fail(p+".email", fmt.Errorf("%q: want an e-mail address", rc.Email))
		}
		switch {
		case rc.Scope == "team" && rc.Manager != "":
			l.fail(p+".manager", fmt.Errorf("only with scope manager"))
		case rc.Scope == "manager" && !ids[rc.Manager]:
			l.fail(p+".manager", fmt.Errorf("%q: not a configured manager id", rc.Manager))
		case rc.Scope != "team" && rc.Scope != "manager":
			l.fail(p+".scope", fmt.Errorf("%q: want team or manager", rc.Scope))
		}
	}
}

package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// AnalyticsConfig configures the business numbers.
type AnalyticsConfig struct {
	// CallbackSLA is the time within which a missed call should be called
	// back (missed calls, speed to lead, callpulse_missed_calls_past_sla).
	CallbackSLA time.Duration `yaml:"callback_sla"`
}

// ScoringConfig configures lead scoring and the call queue.
type ScoringConfig struct {
	// Points per tracked action. A table in the file replaces the default
	// table as a whole.
	Points map[string]int `yaml:"points"`
	// OncePerAction counts each action kind once per lead.
	OncePerAction bool `yaml:"once_per_action"`
	// Decay counts only touches this recent (0 = all).
	Decay time.Duration `yaml:"decay"`
	// Lookback is the window of conversions that calibrate the threshold.
	Lookback time.Duration `yaml:"lookback"`
	// MinSample is how many conversions calibrate the threshold; with fewer,
	// FallbackThreshold applies.
	MinSample         int     `yaml:"min_sample"`
	FallbackThreshold float64 `yaml:"fallback_threshold"`
	// KeepTouches is the most touches the daemon keeps in memory to serve
	// the queue and the threshold from; with more stored (or 0), they are
	// computed in ClickHouse on every request.
	KeepTouches int `yaml:"keep_touches"`
}

// DefaultPoints are the points of the tracked actions by default.
func DefaultPoints() map[string]int {
	return map[string]int{"site_visit": 5, "pricing_page": 15, "form_view": 5, "application": 20,
		"email_open": 2, "link_click": 3, "video_download": 10, "consultation": 25}
}

var actionID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// validateAnalytics checks the analytics and scoring sections.
func (l *loader) validateAnalytics(c *Config) {
	l.positive("analytics.callback_sla", c.Analytics.CallbackSLA)
	if c.Analytics.CallbackSLA > 7*24*time.Hour {
		l.fail("analytics.callback_sla", errors.New("at most 168h (the past-SLA gauge looks back 7 days)"))
	}
	s := c.Scoring
	if len(s.Points) == 0 {
		l.fail("scoring.points", errEmpty)
	}
	for action, pts := range s.Points {
		p := "scoring.points." + action
		if !actionID.MatchString(action) {
			l.fail(p, fmt.Errorf("invalid action id %q: want a-z, 0-9 and _, starting with a letter", action))
		}
		if pts < 0 || pts > 1_000_000 {
			l.fail(p, fmt.Errorf("points must be between 0 and 1000000, got %d", pts))
		}
	}
	if s.Decay != 0 && s.Decay < time.Second {
		l.fail("scoring.decay", errors.New("must be 0 (no decay) or at least 1s"))
	}
	l.positive("scoring.lookback", s.Lookback)
	if s.MinSample < 1 {
		l.fail("scoring.min_sample", errors.New("must be at least 1"))
	}
	if s.KeepTouches < 0 || s.KeepTouches > math.MaxInt32 {
		l.fail("scoring.keep_touches", fmt.Errorf("must be 0 (never keep) to %d", math.MaxInt32))
	}
	if s.FallbackThreshold < 0 || math.IsInf(s.FallbackThreshold, 0) || math.IsNaN(s.FallbackThreshold) {
		l.fail("scoring.fallback_threshold", errors.New("must be a finite number ≥ 0"))
	}
}

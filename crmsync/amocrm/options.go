// Package amocrm is the amoCRM / Kommo API v4 client of crmsync (spec §7):
// a crmsync.Pusher (POST /api/v4/calls, /api/v4/tasks) and a
// crmsync.Puller (GET /api/v4/leads, /api/v4/contacts), authenticated with
// a long-lived token.
package amocrm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/callpulse/callpulse/client"
)

// Defaults for zero Options fields.
const (
	DefaultName    = "amocrm"
	DefaultSource  = "callpulse"
	DefaultTimeout = 30 * time.Second
	// DefaultRate is amoCRM's documented limit per account (§7.2).
	DefaultRate = 7
	// PageLimit is the largest page of GET /api/v4/leads (§7.4).
	PageLimit = 250
)

// Options configure a Client.
type Options struct {
	// Name is the Pusher name (the {crm} metric label); DefaultName if empty.
	Name string
	// BaseURL is the account domain, "https://<subdomain>.amocrm.ru" or
	// "https://<subdomain>.kommo.com" (never www). Required.
	BaseURL string
	// Token is the long-lived token (env CALLPULSE_AMOCRM_TOKEN), sent as
	// "Authorization: Bearer". It cannot be refreshed: a 401 is permanent.
	// Required.
	Token string
	// Source is the "source" of pushed calls (DefaultSource).
	Source string
	// CreateLeads creates a lead with a contact for a caller amoCRM does not
	// know (POST /api/v4/leads/complex ❓), then pushes the call again: the
	// calls API drops calls it cannot attach (§7.3).
	CreateLeads bool
	// Timeout bounds one HTTP request (DefaultTimeout).
	Timeout time.Duration
	// HTTPClient is the transport (nil: a new http.Client).
	HTTPClient *http.Client

	// HotLeadStatusID (and HotLeadPipelineID, if the stage is in another
	// pipeline) is where a lead goes when its score crosses the scoring
	// threshold; 0: leads are not moved.
	HotLeadStatusID, HotLeadPipelineID int64

	// Throttle, if set, is waited on before every request (pushes and
	// pulls): the account's token bucket, 7 requests/s (§7.2).
	// *crmsync.Throttle and *rate.Limiter implement it.
	Throttle Waiter

	// Pull maps leads to clients and deals.
	Pull PullOptions
	// Normalizer turns CRM phone numbers into E.164. Required for Pull.
	Normalizer Normalizer
	// Logger receives warnings about skipped records (nil discards).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// PullOptions map amoCRM lead fields to callpulse's client and deal. A
// field is named by its field_code, field_name or field_id (as a string).
type PullOptions struct {
	// CategoryField holds the client's category (e.g. "Priority");
	// CategoryValues maps its values (or enum ids) to categories, e.g.
	// {"AAA": "A"}. Unmapped values are read with client.ParseCategory.
	CategoryField  string
	CategoryValues map[string]client.Category
	// NeedField, BudgetField and UrgencyField are read with
	// client.ParseFlag (after FlagValues) when CategoryField gives nothing;
	// the category is then client.Derive of them.
	NeedField, BudgetField, UrgencyField string
	FlagValues                           map[string]client.Flag
	// SourceField holds the ad source (e.g. "UTM_SOURCE"); SourceValues
	// maps raw values to slugs; unmapped values are lowercased and reduced
	// to [a-z0-9_.-].
	SourceField  string
	SourceValues map[string]string
	// Managers maps an amoCRM user id (responsible_user_id) to the
	// manager's PBX extension; unmapped users leave Manager empty.
	Managers map[string]string
	// PipelineIDs restricts the pull to these pipelines; empty pulls all.
	PipelineIDs []int
}

// Waiter hands out request tokens.
type Waiter interface {
	Wait(ctx context.Context) error
}

// Normalizer turns a phone number into E.164. phone.Normalizer satisfies it.
type Normalizer interface {
	Normalize(string) (string, error)
}

// Validate reports every problem with o.
func (o Options) Validate() error {
	var errs []error
	u, err := url.Parse(o.BaseURL)
	switch {
	case o.BaseURL == "":
		errs = append(errs, errors.New("amocrm: base_url is required"))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		errs = append(errs, fmt.Errorf("amocrm: base_url %q: want https://<subdomain>.amocrm.ru", o.BaseURL))
	}
	if o.Token == "" {
		errs = append(errs, errors.New("amocrm: token is required (CALLPULSE_AMOCRM_TOKEN)"))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("amocrm: timeout %v must not be negative", o.Timeout))
	}
	return errors.Join(errs...)
}

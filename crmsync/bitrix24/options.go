package bitrix24

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callpulse/callpulse/client"
)

// Defaults for zero Options fields.
const (
	DefaultOAuthURL = "https://oauth.bitrix.info/oauth/token/"
	DefaultTimeout  = 30 * time.Second
	DefaultName     = "bitrix24"
)

// TaskKind selects the Bitrix24 method that CreateTask uses.
type TaskKind string

// Task kinds (§6.10).
const (
	// TaskTodo adds a CRM to-do (crm.activity.todo.add) on the client's
	// contact, lead or company. It needs a CRM entity for the phone.
	TaskTodo TaskKind = "todo"
	// TaskTask adds a task (tasks.task.add), linked to the client's CRM
	// entity through UF_CRM_TASK when one is found.
	TaskTask TaskKind = "task"
)

// Options configure a Client. Exactly one of OAuth (Endpoint + ClientID +
// ClientSecret + Tokens) or WebhookURL must be set.
type Options struct {
	// Name is the Pusher name (the {crm} metric label); DefaultName if empty.
	Name string

	// Endpoint is the portal's REST endpoint for an OAuth application,
	// "https://<portal>/rest/" (the client_endpoint of the token response).
	Endpoint string
	// ClientID and ClientSecret identify the local application; they are
	// sent to OAuthURL when the access token expires.
	ClientID     string
	ClientSecret string
	// Tokens loads and persists the OAuth tokens. Refreshed tokens are
	// saved before they are used: Bitrix24 invalidates the old refresh
	// token on every refresh.
	Tokens TokenStore
	// OAuthURL is the token endpoint (DefaultOAuthURL).
	OAuthURL string

	// WebhookURL is an incoming webhook, "https://<portal>/rest/<user>/<code>/".
	// It can call crm.* and tasks.* methods only: telephony methods need an
	// application (§0, WRONG_AUTH_TYPE) and fail with ErrNeedsApplication
	// without a request.
	WebhookURL string

	// Throttle, if set, is waited on before every REST request (pushes,
	// tasks, pulls; one batch is one request): the portal's leaky bucket,
	// 50 requests then 2/s (§6.6). *crmsync.Throttle and *rate.Limiter
	// implement it. The OAuth server is not throttled.
	Throttle Waiter

	// Timeout bounds one HTTP request (DefaultTimeout). Bitrix24 cuts
	// requests off after 60 s.
	Timeout time.Duration
	// HTTPClient is the transport (nil: a new http.Client).
	HTTPClient *http.Client

	// DefaultUserID is the Bitrix24 user a call or task is given to when
	// its CRMUserID is empty. Register and finish need a user.
	DefaultUserID string
	// CreateUnknown sends CRM_CREATE=1: Bitrix24 creates a lead for a
	// number it does not know.
	CreateUnknown bool
	// CRMSource is sent as CRM_SOURCE (a SOURCE status id) with
	// CreateUnknown; empty sends nothing.
	CRMSource string
	// HotLeadStatus is the lead stage (STATUS_ID, e.g. "IN_PROCESS") a lead
	// is moved to when its score crosses the scoring threshold; empty: leads
	// are not moved.
	HotLeadStatus string
	// InnerPhones identifies the user of a call whose manager has no
	// CRMUserID by the manager's extension as the Bitrix24 user's internal
	// number (USER_PHONE_INNER): the portal keeps the mapping. An extension
	// no user has falls back to DefaultUserID.
	InnerPhones bool
	// AddToChat sends ADD_TO_CHAT=1 to register and finish (notify the
	// manager in the messenger).
	AddToChat bool
	// Location is the zone of CALL_START_DATE and task deadlines
	// (nil: UTC). The offset is always explicit.
	Location *time.Location
	// Task selects crm.activity.todo.add (TaskTodo, the default) or
	// tasks.task.add (TaskTask).
	Task TaskKind
	// TaskCreatorID is sent as CREATED_BY of tasks.task.add; empty sends
	// nothing (the token's user).
	TaskCreatorID string

	// Pull is how leads and deals map to clients and deals.
	Pull PullOptions

	// Normalizer turns CRM phone numbers into E.164. Required for Pull.
	Normalizer Normalizer
	// Logger receives warnings about skipped records (nil discards).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// PullOptions map Bitrix24 fields to callpulse's client and deal. Deal ids
// are "D_<id>" for deals and "L_<id>" for leads (the CRM prefixes of §6.9).
type PullOptions struct {
	// CategoryField is a lead/deal field holding the client's category
	// (e.g. "UF_CRM_PRIORITY"); CategoryValues maps its raw values (enum
	// item ids or strings) to categories, e.g. {"AAA": "A"}. Unmapped
	// values are read with client.ParseCategory.
	CategoryField  string
	CategoryValues map[string]client.Category
	// NeedField, BudgetField and UrgencyField are read with
	// client.ParseFlag (after FlagValues) when CategoryField is empty or
	// gives nothing; the category is then client.Derive of them.
	NeedField, BudgetField, UrgencyField string
	// FlagValues maps raw values of the flag fields (e.g. enum ids) to
	// yes/no.
	FlagValues map[string]client.Flag

	// SourceField is "SOURCE_ID" (default) or "UTM_SOURCE" or any field.
	// SourceValues maps raw values to source slugs; unmapped values are
	// lowercased and reduced to [a-z0-9_.-].
	SourceField  string
	SourceValues map[string]string

	// LossReasonField holds why a lost deal was lost (e.g.
	// "UF_CRM_LOSS_REASON"); LossReasonValues maps enum ids to text.
	// Empty: lost deals have no reason.
	LossReasonField  string
	LossReasonValues map[string]string

	// Managers maps a Bitrix24 user id (ASSIGNED_BY_ID) to the manager's
	// PBX extension; unmapped users leave Manager empty.
	Managers map[string]string

	// LeadsAsDeals also turns leads into deals ("L_<id>", stage from
	// STATUS_SEMANTIC_ID), for portals that sell from leads.
	LeadsAsDeals bool
}

// Waiter hands out request tokens.
type Waiter interface {
	Wait(ctx context.Context) error
}

// Normalizer turns a phone number into E.164. phone.Normalizer satisfies it.
type Normalizer interface {
	Normalize(string) (string, error)
}

// ErrNeedsApplication is returned for telephony methods called with an
// incoming-webhook URL: Bitrix24 answers them with WRONG_AUTH_TYPE (§0).
var ErrNeedsApplication = errors.New("telephony methods need an OAuth application, not an incoming webhook")

// Validate reports every problem with o.
func (o Options) Validate() error {
	var errs []error
	oauth := o.Endpoint != "" || o.ClientID != "" || o.ClientSecret != "" || o.Tokens != nil
	switch {
	case oauth && o.WebhookURL != "":
		errs = append(errs, errors.New("bitrix24: set either the OAuth application or the webhook URL, not both"))
	case oauth:
		if err := checkURL(o.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("bitrix24: endpoint: %w", err))
		}
		if o.ClientID == "" || o.ClientSecret == "" {
			errs = append(errs, errors.New("bitrix24: client id and client secret are required"))
		}
		if o.Tokens == nil {
			errs = append(errs, errors.New("bitrix24: a token store is required"))
		}
		if o.OAuthURL != "" {
			if err := checkURL(o.OAuthURL); err != nil {
				errs = append(errs, fmt.Errorf("bitrix24: oauth URL: %w", err))
			}
		}
	case o.WebhookURL != "":
		if err := checkURL(o.WebhookURL); err != nil {
			// The webhook URL is a secret: never echo it.
			errs = append(errs, errors.New("bitrix24: webhook URL: want https://<portal>/rest/<user>/<code>/"))
		}
	default:
		errs = append(errs, errors.New("bitrix24: an OAuth application or a webhook URL is required"))
	}
	switch o.Task {
	case "", TaskTodo, TaskTask:
	default:
		errs = append(errs, fmt.Errorf("bitrix24: task %q: want %q or %q", o.Task, TaskTodo, TaskTask))
	}
	if o.Timeout < 0 {
		errs = append(errs, errors.New("bitrix24: timeout must not be negative"))
	}
	for _, id := range []struct{ name, v string }{{"default user id", o.DefaultUserID}, {"task creator id", o.TaskCreatorID}} {
		if id.v != "" && !isDigits(id.v) {
			errs = append(errs, fmt.Errorf("bitrix24: %s %q: want a numeric user id", id.name, id.v))
		}
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.OAuthURL == "" {
		o.OAuthURL = DefaultOAuthURL
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Task == "" {
		o.Task = TaskTodo
	}
	if o.Pull.SourceField == "" {
		o.Pull.SourceField = "SOURCE_ID"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, p := range []*string{&o.Endpoint, &o.WebhookURL} {
		if *p != "" && !strings.HasSuffix(*p, "/") {
			*p += "/"
		}
	}
	return o
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

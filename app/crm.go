package app

import (
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
)

// crmAccount is one configured CRM: what the outbox pushes to (nil for a
// pull-only account) and what the scheduled pull reads.
type crmAccount struct {
	name     string
	target   *crmsync.Target
	puller   crmsync.Puller
	interval time.Duration // 0 = no pull
}

// newCRM builds the CRM outbox and the scheduled pulls, or nil when no CRM
// is configured. amoCRM and Bitrix24 may be configured together; each has
// its own Throttle, taken before every request of its pushes and pulls.
func (a *App) newCRM() (*crmsync.Outbox, []*crmsync.Syncer, error) {
	c := a.cfg.CRM
	var accounts []crmAccount
	if c.AmoCRM.BaseURL != "" {
		acc, err := a.amoCRMAccount(c.AmoCRM)
		if err != nil {
			return nil, nil, err
		}
		accounts = append(accounts, acc)
	}
	if c.Bitrix24.Enabled() {
		acc, err := a.bitrix24Account(c.Bitrix24)
		if err != nil {
			return nil, nil, err
		}
		accounts = append(accounts, acc)
	}
	if len(accounts) == 0 {
		return nil, nil, nil
	}
	metrics := crmsync.NewMetrics(a.reg)
	var targets []crmsync.Target
	for _, acc := range accounts {
		if acc.target != nil {
			targets = append(targets, *acc.target)
		}
	}
	var clients crmsync.Clients
	if c.RepeatLeads {
		clients = a.db
	}
	ob, err := crmsync.New(crmsync.Options{
		Clients:       clients,
		Path:          filepath.Join(a.cfg.DataDir, "crm", "outbox.db"),
		Targets:       targets,
		Catalog:       a.db,
		RecordingURL:  a.crmRecordingURL,
		Settle:        c.Settle,
		MissedSLA:     a.cfg.Analytics.CallbackSLA,
		RecordingWait: c.RecordingWait,
		RecordingPoll: c.RecordingPoll,
		GiveUpAfter:   c.GiveUpAfter,
		RepeatLeadGap: c.RepeatLeadGap,
		Metrics:       metrics,
		Logger:        a.log.With("component", "crm"),
	})
	if err != nil {
		return nil, nil, err
	}
	var syncers []*crmsync.Syncer
	for _, acc := range accounts {
		if acc.interval <= 0 {
			continue
		}
		s, err := crmsync.NewSyncer(crmsync.SyncOptions{Name: acc.name, Puller: acc.puller, Warehouse: a.db, Watermarks: ob,
			Interval: acc.interval, Metrics: metrics, Logger: a.log.With("component", "crm-pull", "crm", acc.name)})
		if err != nil {
			ob.Close()
			return nil, nil, err
		}
		syncers = append(syncers, s)
	}
	return ob, syncers, nil
}

// crmRecordingURL is the signed public link to a call's recording put on
// the CRM card (the CRM and the managers reading the card have no API
// token), "" without crm.public_url.
func (a *App) crmRecordingURL(provider, callID string) string {
	base := strings.TrimRight(a.cfg.CRM.PublicURL, "/")
	if base == "" {
		return ""
	}
	return base + a.recordingLinks.Path(provider, callID)
}

func (a *App) amoCRMAccount(am config.AmoCRMConfig) (crmAccount, error) {
	throttle, err := crmsync.NewThrottle(rate.Limit(am.Rate), am.Burst, nil, nil)
	if err != nil {
		return crmAccount{}, err
	}
	amo, err := amocrm.New(amocrm.Options{
		BaseURL: am.BaseURL, Token: string(am.Token), Source: am.Source, CreateLeads: am.CreateLeads,
		HotLeadStatusID: am.HotLeadStatusID, HotLeadPipelineID: am.HotLeadPipelineID,
		Throttle: throttle, Normalizer: a.norm, Logger: a.log.With("component", "amocrm"),
		Pull: amocrm.PullOptions{
			CategoryField: am.Pull.CategoryField, CategoryValues: categories(am.Pull.CategoryMap),
			NeedField: am.Pull.NeedField, BudgetField: am.Pull.BudgetField, UrgencyField: am.Pull.UrgencyField,
			FlagValues: flags(am.Pull.FlagMap), SourceField: am.Pull.SourceField, SourceValues: am.Pull.SourceMap,
			Managers: invert(am.Users), PipelineIDs: am.Pull.PipelineIDs,
		},
	})
	if err != nil {
		return crmAccount{}, err
	}
	return crmAccount{
		name:     amo.Name(),
		target:   &crmsync.Target{Pusher: amo, Users: am.Users, Workers: am.Workers},
		puller:   amo,
		interval: am.Pull.Interval,
	}, nil
}

func (a *App) bitrix24Account(b config.Bitrix24Config) (crmAccount, error) {
	throttle, err := crmsync.NewThrottle(rate.Limit(b.Rate), b.Burst, nil, nil)
	if err != nil {
		return crmAccount{}, err
	}
	opts := bitrix24.Options{
		Throttle:      throttle,
		OAuthURL:      b.OAuthURL,
		DefaultUserID: b.DefaultUserID,
		InnerPhones:   b.InnerPhones,
		HotLeadStatus: b.HotLeadStatus,
		CreateUnknown: b.CreateUnknown,
		CRMSource:     b.CRMSource,
		AddToChat:     b.AddToChat,
		Location:      a.cfg.Location(),
		Task:          bitrix24.TaskKind(b.Task),
		TaskCreatorID: b.TaskCreatorID,
		Normalizer:    a.norm,
		Logger:        a.log.With("component", "bitrix24"),
		Pull: bitrix24.PullOptions{
			CategoryField: b.Pull.CategoryField, CategoryValues: categories(b.Pull.CategoryMap),
			NeedField: b.Pull.NeedField, BudgetField: b.Pull.BudgetField, UrgencyField: b.Pull.UrgencyField,
			FlagValues: flags(b.Pull.FlagMap), SourceField: b.Pull.SourceField, SourceValues: b.Pull.SourceMap,
			LossReasonField: b.Pull.LossReasonField, LossReasonValues: b.Pull.LossReasonMap,
			Managers: invert(b.Users), LeadsAsDeals: b.Pull.LeadsAsDeals,
		},
	}
	push := b.Endpoint != ""
	if push {
		opts.Endpoint, opts.ClientID, opts.ClientSecret = b.Endpoint, b.ClientID, string(b.ClientSecret)
		opts.Tokens = bitrix24.FileTokenStore{Path: Bitrix24TokensFile(a.cfg)}
	} else {
		opts.WebhookURL = string(b.WebhookURL)
	}
	bx, err := bitrix24.New(opts)
	if err != nil {
		return crmAccount{}, err
	}
	acc := crmAccount{name: bx.Name(), puller: bx, interval: b.Pull.Interval}
	if push {
		acc.target = &crmsync.Target{Pusher: bx, Users: b.Users, Workers: b.Workers}
	} else {
		a.log.Info("bitrix24: incoming webhook configured: leads and deals are pulled, calls are not pushed (telephony needs an application)")
	}
	return acc, nil
}

// Bitrix24TokensFile is where the Bitrix24 OAuth tokens are kept:
// crm.bitrix24.tokens_file, else <data_dir>/crm/bitrix24-tokens.json.
func Bitrix24TokensFile(cfg *config.Config) string {
	if f := cfg.CRM.Bitrix24.TokensFile; f != "" {
		return f
	}
	return filepath.Join(cfg.DataDir, "crm", "bitrix24-tokens.json")
}

func categories(m map[string]string) map[string]client.Category {
	out := make(map[string]client.Category, len(m))
	for raw, v := range m {
		out[raw], _ = client.ParseCategory(v) // validated by config
	}
	return out
}

func flags(m map[string]string) map[string]client.Flag {
	out := make(map[string]client.Flag, len(m))
	for raw, v := range m {
		out[raw], _ = client.ParseFlag(v) // validated by config
	}
	return out
}

// invert maps CRM user ids back to PBX extensions.
func invert(users map[string]string) map[string]string {
	out := make(map[string]string, len(users))
	for ext, id := range users {
		out[id] = ext
	}
	return out
}

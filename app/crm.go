package app

import (
	"net/url"
	"path/filepath"
	"strings"

	"golang.org/x/time/rate"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/amocrm"
)

// newCRM builds the CRM outbox and the scheduled pulls, or nil when no CRM
// is configured. amoCRM is the CRM wired so far; Bitrix24's client exists
// (crmsync/bitrix24) but is not configurable yet.
func (a *App) newCRM() (*crmsync.Outbox, []*crmsync.Syncer, error) {
	c := a.cfg.CRM
	am := c.AmoCRM
	if am.BaseURL == "" {
		return nil, nil, nil
	}
	metrics := crmsync.NewMetrics(a.reg)
	lim := rate.NewLimiter(rate.Limit(am.Rate), am.Burst) // shared by pushes and pulls
	managers := make(map[string]string, len(am.Users))
	for ext, id := range am.Users {
		managers[id] = ext
	}
	categories := map[string]client.Category{}
	for raw, v := range am.Pull.CategoryMap {
		categories[raw], _ = client.ParseCategory(v) // validated by config
	}
	flags := map[string]client.Flag{}
	for raw, v := range am.Pull.FlagMap {
		flags[raw], _ = client.ParseFlag(v)
	}
	amo, err := amocrm.New(amocrm.Options{
		BaseURL: am.BaseURL, Token: string(am.Token), Source: am.Source, CreateLeads: am.CreateLeads,
		Limiter: lim, Normalizer: a.norm, Logger: a.log.With("component", "amocrm"),
		Pull: amocrm.PullOptions{
			CategoryField: am.Pull.CategoryField, CategoryValues: categories,
			NeedField: am.Pull.NeedField, BudgetField: am.Pull.BudgetField, UrgencyField: am.Pull.UrgencyField,
			FlagValues: flags, SourceField: am.Pull.SourceField, SourceValues: am.Pull.SourceMap,
			Managers: managers, PipelineIDs: am.Pull.PipelineIDs,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	base := strings.TrimRight(c.PublicURL, "/")
	ob, err := crmsync.New(crmsync.Options{
		Path:    filepath.Join(a.cfg.DataDir, "crm", "outbox.db"),
		Targets: []crmsync.Target{{Pusher: amo, Limiter: lim, Users: am.Users, Workers: am.Workers}},
		Catalog: a.db,
		RecordingURL: func(provider, callID string) string {
			if base == "" {
				return ""
			}
			return base + "/api/v1/recordings/" + url.PathEscape(provider) + "/" + url.PathEscape(callID)
		},
		Settle: c.Settle, MissedSLA: a.cfg.Analytics.CallbackSLA, RecordingWait: c.RecordingWait,
		RecordingPoll: c.RecordingPoll, GiveUpAfter: c.GiveUpAfter, Metrics: metrics,
		Logger: a.log.With("component", "crm"),
	})
	if err != nil {
		return nil, nil, err
	}
	var syncers []*crmsync.Syncer
	if am.Pull.Interval > 0 {
		s, err := crmsync.NewSyncer(crmsync.SyncOptions{Name: amo.Name(), Puller: amo, Warehouse: a.db, Watermarks: ob,
			Interval: am.Pull.Interval, Metrics: metrics, Logger: a.log.With("component", "crm-pull", "crm", amo.Name())})
		if err != nil {
			ob.Close()
			return nil, nil, err
		}
		syncers = append(syncers, s)
	}
	return ob, syncers, nil
}

package app

import (
	"fmt"
	"time"

	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/ingest/asterisk"
	"github.com/callpulse/callpulse/ingest/generic"
	"github.com/callpulse/callpulse/ingest/gravitel"
	"github.com/callpulse/callpulse/ingest/mango"
	"github.com/callpulse/callpulse/ingest/zadarma"
	"github.com/callpulse/callpulse/phone"
)

// providers is the explicit list of webhook providers, one per PBX: the
// generic webhook always, the others when their secret is configured.
func (a *App) providers(norm *phone.Normalizer) ([]ingest.Provider, error) {
	w := a.cfg.Webhooks
	g, err := generic.New(string(w.Generic.Token), norm)
	if err != nil {
		return nil, err
	}
	providers := []ingest.Provider{g}
	if z := w.Zadarma; z.Secret != "" {
		loc := a.cfg.Location()
		if z.Timezone != "" {
			if loc, err = time.LoadLocation(z.Timezone); err != nil {
				return nil, fmt.Errorf("webhooks.zadarma.timezone: %w", err)
			}
		}
		zp, err := zadarma.New(zadarma.Options{
			Secret: string(z.Secret), APIKey: string(z.APIKey), APIURL: z.APIURL,
			Location: loc, Normalizer: norm, Logger: a.log.With("component", "ingest"),
		})
		if err != nil {
			return nil, fmt.Errorf("zadarma: %w", err)
		}
		providers = append(providers, zp)
	}
	if m := w.Mango; m.APIKey != "" {
		mp, err := mango.New(mango.Options{
			APIKey: string(m.APIKey), APISalt: string(m.APISalt), APIURL: m.APIURL,
			Normalizer: norm, Logger: a.log.With("component", "ingest"),
		})
		if err != nil {
			return nil, fmt.Errorf("mango: %w", err)
		}
		providers = append(providers, mp)
	}
	if w.Gravitel.Token != "" {
		routes := make([]gravitel.Route, len(w.Gravitel.Routing))
		for i, r := range w.Gravitel.Routing {
			routes[i] = gravitel.Route{Category: r.Category, Responsible: r.Responsible}
		}
		gv, err := gravitel.New(gravitel.Options{
			Token: string(w.Gravitel.Token), Routing: routes, Directory: a.db, Normalizer: norm,
			ContactTimeout: w.Gravitel.ContactTimeout, Logger: a.log.With("component", "ingest"),
		})
		if err != nil {
			return nil, fmt.Errorf("gravitel: %w", err)
		}
		providers = append(providers, gv)
	}
	return providers, nil
}

// newAsterisk builds the ARI event source, or nil when asterisk.url is not
// set. Its events go to the spool and the live feed like webhooks do.
func (a *App) newAsterisk(norm *phone.Normalizer) (*asterisk.Source, error) {
	c := a.cfg.Asterisk
	if c.URL == "" {
		return nil, nil
	}
	s, err := asterisk.New(asterisk.Options{
		URL: c.URL, App: c.App, User: c.User, Password: string(c.Password),
		InboundContexts: c.InboundContexts, OutboundContexts: c.OutboundContexts,
		Normalizer: norm, Appender: publishingAppender{a.spool, a.hub},
		Logger: a.log.With("component", "asterisk"),
	})
	if err != nil {
		return nil, fmt.Errorf("asterisk: %w", err)
	}
	return s, nil
}

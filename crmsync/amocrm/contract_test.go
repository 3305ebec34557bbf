package amocrm_test

import (
	"testing"

	"github.com/callpulse/callpulse/crmsync/amocrm"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/crmsync/crmtest"
)

const token = "long-lived-token"

func newPair(t *testing.T, opts amocrm.Options) (*amocrm.Client, *amocrmtest.Server) {
	t.Helper()
	srv := amocrmtest.New(amocrmtest.Options{Token: token, Rate: 1000, Burst: 1000})
	t.Cleanup(srv.Close)
	opts.BaseURL, opts.Token = srv.URL, token
	c, err := amocrm.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestContract(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crmtest.Harness {
		c, srv := newPair(t, amocrm.Options{CreateLeads: true})
		return crmtest.Harness{Pusher: c, Backend: srv}
	})
}

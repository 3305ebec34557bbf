package recordings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/warehouse"
)

// Catalog records which call has which stored recording. *warehouse.DB
// implements it.
type Catalog interface {
	InsertRecording(ctx context.Context, r warehouse.Recording) error
	Recording(ctx context.Context, provider, callID string) (warehouse.Recording, bool, error)
	RecordedCalls(ctx context.Context, keys []warehouse.CallKey) (map[warehouse.CallKey]bool, error)
}

// Resolver looks up the addresses of a host name. *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Defaults for zero Options fields.
const (
	DefaultDelay       = 40 * time.Second // recordings appear about 40 s after the call ends
	DefaultWorkers     = 2
	DefaultMaxBytes    = 100 << 20
	DefaultTimeout     = 2 * time.Minute
	DefaultGiveUpAfter = 24 * time.Hour
	DefaultRetryBase   = 30 * time.Second
	DefaultRetryMax    = 10 * time.Minute
)

// Options configure a Store. Zero fields take the defaults named.
type Options struct {
	// Dir holds the job database (jobs.db) and the audio files (blobs/).
	// Required; created if missing.
	Dir string
	// Catalog stores and looks up the recordings table. Required.
	Catalog Catalog

	// Locators resolve recording references, by provider name. Events of a
	// provider without a Locator are fetched from their RecordingURL with
	// DirectLocator.
	Locators map[string]Locator
	// AllowedHosts lists, per provider, the hosts recordings may be fetched
	// from, including the provider API a Locator calls and every redirect:
	// an exact host name or IP address ("api.zadarma.com", "10.0.0.7"), or
	// "*.example.com" for any subdomain of example.com (not example.com
	// itself). Ports are not restricted. A provider without entries can
	// fetch nothing.
	AllowedHosts map[string][]string
	// AllowPrivate names the providers whose allowed hosts may resolve to
	// loopback, private (RFC 1918, fc00::/7) or CGNAT (100.64.0.0/10)
	// addresses: an on-premises Asterisk. Link-local addresses (including
	// the cloud metadata service 169.254.169.254), multicast, unspecified
	// and reserved addresses are refused for every provider.
	AllowPrivate []string

	Delay       time.Duration  // first attempt at event ReceivedAt + Delay (DefaultDelay)
	Workers     int            // concurrent fetches (DefaultWorkers)
	MaxBytes    int64          // largest accepted recording (DefaultMaxBytes)
	Timeout     time.Duration  // bound on one attempt: locate, download, store (DefaultTimeout)
	GiveUpAfter time.Duration  // retrying stops this long after the first due time (DefaultGiveUpAfter)
	Retry       backoff.Policy // delays between attempts (DefaultRetryBase, DefaultRetryMax)

	// Resolver resolves host names before the dial-time address check;
	// nil means net.DefaultResolver.
	Resolver Resolver
	// Metrics from NewMetrics; nil counts without exporting.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now and After are the clock (nil: time.Now and time.After). Tests
	// inject a fake one so that due times are testable without sleeping.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
}

// Validate reports every problem with opts, one per line.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("recordings: dir is required"))
	}
	if o.Catalog == nil {
		errs = append(errs, errors.New("recordings: catalog is required"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"delay", o.Delay}, {"timeout", o.Timeout}, {"give_up_after", o.GiveUpAfter},
		{"retry base", o.Retry.Base}, {"retry max", o.Retry.Max},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("recordings: %s %v must not be negative", d.name, d.v))
		}
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("recordings: workers %d must not be negative", o.Workers))
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("recordings: max_bytes %d must not be negative", o.MaxBytes))
	}
	for provider, hosts := range o.AllowedHosts {
		for _, h := range hosts {
			if _, err := parseHostPattern(h); err != nil {
				errs = append(errs, fmt.Errorf("recordings: allowed_hosts of %s: %w", provider, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Delay == 0 {
		o.Delay = DefaultDelay
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.GiveUpAfter == 0 {
		o.GiveUpAfter = DefaultGiveUpAfter
	}
	if o.Retry.Base == 0 {
		o.Retry.Base = DefaultRetryBase
	}
	if o.Retry.Max == 0 {
		o.Retry.Max = DefaultRetryMax
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

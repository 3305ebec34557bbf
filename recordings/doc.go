// Package recordings fetches call recordings from PBX providers, stores
// them, and serves them.
//
// Recordings appear some time after a call ends (Zadarma advises about
// 40 s, Mango says to retry about once a minute), so fetching is a durable,
// delayed retry queue:
//
//  1. Store.Write is the spool sink of the "recordings" consumer. Every
//     event with a RecordingURL or RecordingRef becomes a job keyed by
//     (provider, call id, reference), due at ReceivedAt + Options.Delay, in
//     a bbolt database under Options.Dir. Duplicate events collapse into one
//     job; calls that already have a stored recording get none. Write
//     returns nil once the jobs are durable, and the cursor advances.
//  2. Store.Run fetches due jobs with Options.Workers workers. A Locator
//     per provider (Zadarma, Mango, Asterisk implement it in their
//     packages) turns the reference into a download request; events with a
//     plain URL use DirectLocator. Each attempt is bounded in time
//     (Options.Timeout) and size (Options.MaxBytes) and must answer audio.
//     "Not ready" (404, 425, ErrNotReady) and transient failures (5xx, 408,
//     429, network errors, timeouts) are retried with backoff until
//     Options.GiveUpAfter past the due time; everything else fails
//     permanently, and the job is kept as a dead job with its reason.
//  3. The file is stored content-addressed as
//     Dir/blobs/<sha256[:2]>/<sha256><ext> (temp file, fsync, rename), then
//     catalogued in ClickHouse's recordings table. Only after both is the
//     job deleted.
//  4. Store.Handler serves GET /api/v1/recordings/{provider}/{call_id}.
//
// # SSRF guard
//
// Recording URLs come from webhooks, i.e. from outside. Every request the
// fetcher or a Locator sends goes through a client that allows only http and
// https to the provider's Options.AllowedHosts, checked for the first
// request and every redirect (at most 5); and whose dialer resolves the host
// itself and refuses loopback, private, CGNAT, link-local (cloud metadata),
// multicast, unspecified and reserved addresses before connecting to exactly
// the checked address, which defeats DNS rebinding. Options.AllowPrivate
// lifts the loopback/private/CGNAT part for named providers (on-premises
// Asterisk). No proxy from the environment is used.
//
// # Lifecycle
//
//	s, err := recordings.New(recordings.Options{Dir: dir, Catalog: db, ...})
//	go spool.Consume(ctx, reader, s, spool.ConsumeOptions{...}) // consumer "recordings"
//	go s.Run(ctx)
//	mux.Handle("/api/v1/recordings/", auth(s.Handler()))
//	... cancel ctx, wait for Consume and Run, then s.Close().
package recordings

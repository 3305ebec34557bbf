package crmsync

// SetOnAttempt installs a hook called after each attempt's outcome is
// durable (tests only).
func (o *Outbox) SetOnAttempt(f func()) {
	o.onAttempt = func(job, error) { f() }
}

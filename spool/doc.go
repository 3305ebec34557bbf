// Package spool is callpulse's durable write-ahead spool: every accepted
// webhook is appended here, and fsynced, before the HTTP 2xx is sent, and
// each downstream consumer (ClickHouse writer, CRM pusher, recording fetcher)
// reads it at its own pace with its own durable cursor.
//
// # Guarantees
//
//   - Append returns a sequence number only after the records are fsynced.
//     Sequence numbers start at 1, are contiguous, and never repeat, even
//     after every record was consumed: the active segment, whose file name is
//     the next sequence number when it is empty, is never deleted.
//   - Concurrent Appends are group-committed by a single committer goroutine:
//     one write and one fsync per batch.
//   - A failed write or fsync fails every Append in the batch and truncates
//     the segment back to its size before the batch; if that rollback fails,
//     the spool is broken (Healthy reports it) and refuses further appends.
//   - Readers see only durable records, verified by checksum, in order.
//   - A consumer's cursor (Reader.Commit) survives restarts. A segment file
//     is deleted once every registered consumer has committed past it and it
//     is not the active segment. A consumer seen for the first time starts at
//     the oldest retained record.
//   - Open recovers after a crash: a torn tail of the last segment (never
//     acknowledged) is truncated with a warning; corruption elsewhere, or a
//     gap in sequence numbers between segments, fails Open.
//   - With Options.MaxBytes set, Append fails with ErrFull (and a RetryAfter)
//     instead of writing past the limit; it works again once consumers have
//     committed and segments were deleted. Running out of disk space or quota
//     is reported as ErrFull too, and appends stop DiskReserve bytes before
//     the file system is full: cursor commits (a temporary file renamed)
//     need that room, and committing is what frees space.
//
// # Files
//
// The directory holds segment files "%020d.seg" named by the sequence number
// of their first record (format in segment.go), one "<consumer>.cursor" file
// per registered consumer, and a LOCK file held with flock while open.
//
// # Use
//
//	sp, err := spool.Open(spool.Options{Dir: dir, MaxBytes: 10 << 30, Logger: log, Metrics: spool.NewMetrics(reg)})
//	...
//	seq, err := sp.Append(ctx, body) // then answer 2xx; on errors.Is(err, spool.ErrFull) answer 503 with spool.RetryAfter(err)
//	...
//	r, err := sp.Reader("clickhouse")
//	go spool.Consume(ctx, r, clickhouseSink, spool.ConsumeOptions{MaxBatch: 5000, MaxAge: time.Second})
//
// On shutdown: cancel the consumers' ctx and wait for Consume to return,
// close the Readers, then Close the spool.
package spool

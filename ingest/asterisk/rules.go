package asterisk

import (
	"strings"

	"github.com/callpulse/callpulse/call"
)

// snapshot folds what one channel snapshot says into p and returns the
// call's direction if the snapshot is of the call's first channel (else
// DirectionUnknown). end is true for ChannelDestroyed.
//
//   - Every channel: StartedAt = creationtime (the earliest wins).
//   - The first channel decides the direction (see direction). Inbound: the
//     client is its caller number, our line its dialled exten, and on
//     ChannelDestroyed its connected number is the manager who ended the
//     call. Outbound: the client is the dialled exten (or the connected
//     number), the manager is the calling extension.
//   - Other channels (the legs Dial and Queue create): a leg in state Up
//     means the call was answered; a leg to an internal extension names a
//     manager who rang, or answered if the leg is Up.
//   - Local/ channels are dialplan plumbing and only contribute times.
func (s *Source) snapshot(p *partial, sn snap, end bool) call.Direction {
	p.started(sn.created)
	if sn.local {
		return call.DirectionUnknown
	}
	ch := sn.ch
	if !sn.origin {
		up := ch.State == "Up"
		rank := call.ManagerRang
		if up {
			rank = call.ManagerAnswered
			p.status(call.StatusAnswered)
		}
		p.manager(s.legExtension(ch), rank)
		return call.DirectionUnknown
	}
	dir := s.direction(ch)
	p.direction(dir)
	switch dir {
	case call.DirectionInbound:
		p.client(s.phone(ch.Caller.Number))
		if len(s.inbound) == 0 || s.inbound[ch.Dialplan.Context] {
			p.line(s.phone(ch.Dialplan.Exten))
		}
		if end {
			p.manager(s.extension(ch.Connected.Number), call.ManagerEnded)
		}
	case call.DirectionOutbound:
		client := ""
		if len(s.outbound) == 0 || s.outbound[ch.Dialplan.Context] {
			client = s.phone(ch.Dialplan.Exten)
		}
		if client == "" {
			client = s.phone(ch.Connected.Number)
		}
		p.client(client)
		p.manager(s.originExtension(ch), call.ManagerAnswered)
	}
	return dir
}

// direction classifies a call by its first channel: a context listed in
// OutboundContexts or InboundContexts decides; otherwise the call is
// outbound if the channel's endpoint or caller number is an internal
// extension (a manager's phone placed it) and inbound if not (it came from
// a trunk). Fold keeps outbound over inbound, so one outbound verdict, e.g.
// before the dialplan rewrote the caller ID, is enough.
func (s *Source) direction(ch *channel) call.Direction {
	switch ctx := ch.Dialplan.Context; {
	case s.outbound[ctx]:
		return call.DirectionOutbound
	case s.inbound[ctx]:
		return call.DirectionInbound
	case s.originExtension(ch) != "":
		return call.DirectionOutbound
	}
	return call.DirectionInbound
}

// originExtension is the extension of a manager's phone that placed a
// call: its caller number, or the endpoint name, if that is an extension.
func (s *Source) originExtension(ch *channel) string {
	if ext := s.extension(ch.Caller.Number); ext != "" {
		return ext
	}
	return s.extension(endpoint(ch.Name))
}

// legExtension is the extension a dialled leg rings: its endpoint
// ("PJSIP/101-0000002b" → "101"), else its dialplan exten, if either is
// an internal extension. Legs to trunks have none.
func (s *Source) legExtension(ch *channel) string {
	if ext := s.extension(endpoint(ch.Name)); ext != "" {
		return ext
	}
	return s.extension(ch.Dialplan.Exten)
}

// extension returns n if it is an internal extension: 1 to
// MaxExtensionDigits ASCII digits.
func (s *Source) extension(n string) string {
	if n == "" || len(n) > s.opts.MaxExtensionDigits {
		return ""
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return ""
		}
	}
	return n
}

// phone returns n in E.164, or "" for extensions and non-numbers
// ("anonymous", "s", "h").
func (s *Source) phone(n string) string {
	if n == "" || s.extension(n) != "" {
		return ""
	}
	e164, err := s.opts.Normalizer.Normalize(n)
	if err != nil {
		return ""
	}
	return e164
}

// endpoint extracts the endpoint from a channel name: "PJSIP/101-0000002b"
// → "101", "SIP/trunk-00000a7e" → "trunk".
func endpoint(name string) string {
	_, res, ok := strings.Cut(name, "/")
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(res, '-'); i > 0 {
		res = res[:i]
	}
	return res
}

// causeStatus maps the Q.850 cause of an unanswered outbound call's first
// channel. (An answered call is answered whatever the cause.)
func causeStatus(cause int) call.Status {
	switch cause {
	case 17: // user busy
		return call.StatusBusy
	case 1, 2, 3, 22, 27, 28, 34, 38, 41, 42, 44, 47, 58, 88, 102:
		// unallocated number, no route, number changed, destination out of
		// order, invalid number, no circuit, network out of order,
		// temporary failure, congestion, resource unavailable, ...
		return call.StatusFailed
	}
	// 16 normal clearing, 18 no user response, 19 no answer, 21 call
	// rejected, 31 normal unspecified and anything else: nobody answered.
	return call.StatusCancelled
}

// dialStatus maps Dial's dialstatus (also the DIALSTATUS variable). ANSWER
// is answered in either direction. The failures count only for outbound
// calls: an inbound call nobody answered is missed, however its legs ended.
func dialStatus(status string, dir call.Direction) call.Status {
	if status == "ANSWER" {
		return call.StatusAnswered
	}
	if dir != call.DirectionOutbound {
		return call.StatusNone
	}
	switch status {
	case "BUSY":
		return call.StatusBusy
	case "CONGESTION", "CHANUNAVAIL", "INVALIDARGS", "DONTCALL", "TORTURE":
		return call.StatusFailed
	case "NOANSWER", "CANCEL":
		return call.StatusCancelled
	}
	return call.StatusNone // "", RINGING, PROGRESS, PROCEEDING: still dialling
}

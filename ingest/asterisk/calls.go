package asterisk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
)

// ARI event types callpulse maps. Everything else is ignored.
const (
	evStasisStart        = "StasisStart"
	evChannelCreated     = "ChannelCreated"
	evChannelStateChange = "ChannelStateChange"
	evChannelDestroyed   = "ChannelDestroyed"
	evChannelVarset      = "ChannelVarset"
	evDial               = "Dial"
	evRecordingFinished  = "RecordingFinished"
	evEnteredBridge      = "ChannelEnteredBridge"
	evAppReplaced        = "ApplicationReplaced"
)

// Parse maps one ARI event (one WebSocket text frame) to partial call
// events, at most one per call it concerns. Event types callpulse does not
// use give no events and no error. Errors wrap ErrInvalidEvent and never
// contain field values. now becomes every event's ReceivedAt.
//
// Parse is what Run does with each frame; it is exported for tools that
// replay recorded ARI traffic. It is safe for concurrent use.
func (s *Source) Parse(frame []byte, now time.Time) ([]call.Event, error) {
	ev, err := decode(frame)
	if err != nil {
		return nil, err
	}
	return s.mapEvent(ev, now)
}

func (s *Source) mapEvent(ev event, now time.Time) ([]call.Event, error) {
	switch ev.Type {
	case evStasisStart, evChannelCreated, evChannelStateChange, evChannelDestroyed,
		evDial, evRecordingFinished, evEnteredBridge:
	case evChannelVarset:
		// Dozens per call; only the dial outcome is worth a spool record.
		if ev.Variable != "DIALSTATUS" || ev.Channel == nil {
			return nil, nil
		}
	default:
		return nil, nil
	}
	ts, err := parseTime("timestamp", ev.Timestamp)
	if err != nil {
		return nil, err
	}
	m := mapping{s: s, ev: ev, ts: ts, out: map[string]*partial{}, now: now.UTC()}
	switch ev.Type {
	case evDial:
		err = m.dial()
	case evRecordingFinished:
		err = m.recording()
	case evEnteredBridge:
		err = m.enteredBridge()
	default:
		err = m.channelEvent()
	}
	if err != nil {
		return nil, err
	}
	return m.events(), nil
}

// mapping is the state of mapping one ARI event.
type mapping struct {
	s   *Source
	ev  event
	ts  time.Time
	now time.Time
	out map[string]*partial // by call id
}

// snap is a channel snapshot placed in its call.
type snap struct {
	ch      *channel
	callID  string
	origin  bool // the call's first channel (the caller's side)
	local   bool // a Local/ channel: dialplan plumbing, not a party
	created time.Time
}

// resolve checks a channel snapshot and finds its call: the linkedid if the
// snapshot carries one, else the channel's own id (spec §8).
func (m *mapping) resolve(field string, ch *channel) (snap, error) {
	if ch == nil {
		return snap{}, fmt.Errorf("%w: %s: required", ErrInvalidEvent, field)
	}
	if err := checkID(field+".id", ch.ID); err != nil {
		return snap{}, err
	}
	sn := snap{ch: ch, callID: ch.ID, local: strings.HasPrefix(ch.Name, "Local/")}
	linked := ch.LinkedID
	if linked == "" {
		linked = ch.ChannelVars[m.s.opts.LinkedIDVariable]
	}
	if linked != "" {
		if err := checkID(field+".linkedid", linked); err != nil {
			return snap{}, err
		}
		sn.callID = linked
		sn.origin = ch.ID == linked
		m.s.index.put("channel:"+ch.ID, linked)
	} else {
		// Without a linkedid only Dial's own legs can be told apart.
		sn.origin = ch.Dialplan.AppData != "(Outgoing Line)"
	}
	if ch.CreationTime != "" {
		t, err := parseTime(field+".creationtime", ch.CreationTime)
		if err != nil {
			return snap{}, err
		}
		sn.created = t
	}
	return sn, nil
}

// partial returns the event being built for a call.
func (m *mapping) partial(callID, discriminator string) *partial {
	if p, ok := m.out[callID]; ok {
		return p
	}
	key := m.ev.Type + "/" + discriminator
	p := &partial{call.Event{Provider: Name, CallID: callID, EventKey: key, ReceivedAt: m.now}}
	m.out[callID] = p
	return p
}

// eventKey identifies a channel event: an exact re-delivery has the same
// type, channel, time and detail; different events of a call differ in one.
func (m *mapping) eventKey(channelID, detail string) string {
	key := channelID + "/" + m.ts.Format("2006-01-02T15:04:05.000000Z")
	if detail != "" {
		key += "/" + detail
	}
	return key
}

func (m *mapping) events() []call.Event {
	ids := slices.Sorted(maps.Keys(m.out))
	out := make([]call.Event, 0, len(ids))
	for _, id := range ids {
		out = append(out, m.out[id].Event)
	}
	return out
}

// channelEvent maps StasisStart, ChannelCreated, ChannelStateChange,
// ChannelDestroyed and ChannelVarset(DIALSTATUS).
func (m *mapping) channelEvent() error {
	sn, err := m.resolve("channel", m.ev.Channel)
	if err != nil {
		return err
	}
	ch := sn.ch
	var detail string
	switch m.ev.Type {
	case evChannelStateChange:
		detail = ch.State
	case evChannelDestroyed:
		detail = fmt.Sprint(m.ev.Cause)
	case evChannelVarset:
		detail = m.ev.Variable + "=" + m.ev.Value
	}
	p := m.partial(sn.callID, m.eventKey(ch.ID, detail))
	dir := m.s.snapshot(p, sn, m.ev.Type == evChannelDestroyed)

	switch m.ev.Type {
	case evChannelStateChange:
		if !sn.origin && !sn.local && ch.State == "Up" {
			p.answered(m.ts)
		}
	case evChannelDestroyed:
		p.ended(m.ts)
		if sn.origin && !sn.local {
			switch dir {
			case call.DirectionInbound:
				p.status(call.StatusMissed) // answered wins when a leg was Up
			case call.DirectionOutbound:
				p.status(causeStatus(m.ev.Cause))
			}
		}
	case evChannelVarset:
		if sn.origin && !sn.local {
			p.status(dialStatus(m.ev.Value, dir))
		}
	}
	return nil
}

// dial maps a Dial event: caller (optional) dials peer; dialstatus is empty
// when dialling starts and the outcome when it ends.
func (m *mapping) dial() error {
	peer, err := m.resolve("peer", m.ev.Peer)
	if err != nil {
		return err
	}
	key := m.eventKey(peer.ch.ID, m.ev.DialStatus)
	dir := call.DirectionUnknown
	if m.ev.Caller != nil {
		caller, err := m.resolve("caller", m.ev.Caller)
		if err != nil {
			return err
		}
		d := m.s.snapshot(m.partial(caller.callID, key), caller, false)
		if caller.origin && !caller.local {
			dir = d
		}
	}
	p := m.partial(peer.callID, key)
	m.s.snapshot(p, peer, false)
	st := dialStatus(m.ev.DialStatus, dir)
	p.status(st)
	if st == call.StatusAnswered {
		p.answered(m.ts)
		if !peer.local {
			p.manager(m.s.legExtension(peer.ch), call.ManagerAnswered)
		}
	}
	return nil
}

// recording maps RecordingFinished to the recording's stored name. The
// target is "channel:<id>" or "bridge:<id>"; channels and bridges seen
// earlier are placed in their call, an unknown channel is taken to be the
// call's first one (its id is the linkedid), an unknown bridge is skipped.
func (m *mapping) recording() error {
	rec := m.ev.Recording
	if rec == nil {
		return fmt.Errorf("%w: recording: required", ErrInvalidEvent)
	}
	if err := checkID("recording.name", rec.Name); err != nil {
		return err
	}
	if rec.State != "" && rec.State != "done" {
		return nil
	}
	kind, id, _ := strings.Cut(rec.TargetURI, ":")
	if kind != "channel" && kind != "bridge" {
		return nil
	}
	if err := checkID("recording.target_uri", id); err != nil {
		return err
	}
	callID, ok := m.s.index.get(rec.TargetURI)
	if !ok {
		if kind == "bridge" {
			m.s.log.Warn("ARI recording of a bridge not seen before; it is not linked to a call",
				"bridge", id, "event", m.ev.Type)
			return nil
		}
		callID = id
	}
	p := m.partial(callID, rec.Name)
	p.RecordingRef = rec.Name
	return nil
}

// enteredBridge only learns which call a bridge belongs to.
func (m *mapping) enteredBridge() error {
	sn, err := m.resolve("channel", m.ev.Channel)
	if err != nil {
		return err
	}
	if m.ev.Bridge == nil {
		return fmt.Errorf("%w: bridge: required", ErrInvalidEvent)
	}
	if err := checkID("bridge.id", m.ev.Bridge.ID); err != nil {
		return err
	}
	if !sn.local {
		m.s.index.put("bridge:"+m.ev.Bridge.ID, sn.callID)
	}
	return nil
}

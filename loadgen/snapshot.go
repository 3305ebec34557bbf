package loadgen

import "strconv"

// CallSnapshot returns a Target.Body for POST /webhooks/generic: one
// answered inbound call snapshot of about 350 bytes, as a PBX sends when a
// call ends. Request i gets call id "<prefix>-<i>", its own client number and
// one of 20 manager extensions, so every request is a distinct event.
func CallSnapshot(prefix string) func(dst []byte, i uint64) []byte {
	return func(dst []byte, i uint64) []byte {
		id := strconv.AppendUint([]byte(prefix+"-"), i, 10)
		dst = append(dst, `{"call_id":"`...)
		dst = append(dst, id...)
		dst = append(dst, `","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00",`+
			`"answered_at":"2026-11-20T09:15:07+03:00","ended_at":"2026-11-20T09:19:41+03:00",`+
			`"client_phone":"+7916`...)
		dst = appendPadded(dst, i%10_000_000, 7)
		dst = append(dst, `","line_phone":"+74951112233","manager":"`...)
		dst = strconv.AppendUint(dst, 101+i%20, 10)
		dst = append(dst, `","status":"answered","recording_url":"https://pbx.example.com/rec/`...)
		dst = append(dst, id...)
		return append(dst, `.mp3"}`...)
	}
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	s := strconv.FormatUint(v, 10)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

package recordings

import "net/netip"

// Address classes refused at dial time. Only the classes in privateRanges
// can be allowed, per provider, with Options.AllowPrivate.
var (
	// privateRanges are networks of the operator's own site.
	privateRanges = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),    // loopback
		netip.MustParsePrefix("::1/128"),        // loopback
		netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
		netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
		netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
		netip.MustParsePrefix("fc00::/7"),       // unique local
		netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT, RFC 6598
	}
	// forbiddenRanges are never a recording server.
	forbiddenRanges = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),         // "this network", incl. unspecified
		netip.MustParsePrefix("::/128"),            // unspecified
		netip.MustParsePrefix("169.254.0.0/16"),    // link-local, incl. cloud metadata 169.254.169.254
		netip.MustParsePrefix("fe80::/10"),         // link-local
		netip.MustParsePrefix("fec0::/10"),         // deprecated site-local
		netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments (incl. 192.0.0.192 metadata on some clouds)
		netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
		netip.MustParsePrefix("224.0.0.0/4"),       // multicast
		netip.MustParsePrefix("ff00::/8"),          // multicast
		netip.MustParsePrefix("240.0.0.0/4"),       // reserved, incl. broadcast
		netip.MustParsePrefix("100::/64"),          // discard-only
		netip.MustParsePrefix("fd00:ec2::254/128"), // AWS metadata over IPv6 (also inside fc00::/7)
	}
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// refusal says why a connection to ip is refused, or "" if it is allowed.
// IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are
// judged by that IPv4 address, so they cannot smuggle a private one.
func refusal(ip netip.Addr, allowPrivate bool) string {
	ip = embeddedIPv4(ip.WithZone(""))
	for _, p := range forbiddenRanges {
		if p.Contains(ip) {
			return "link-local, multicast or reserved address"
		}
	}
	if !allowPrivate {
		for _, p := range privateRanges {
			if p.Contains(ip) {
				return "loopback or private address"
			}
		}
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address inside an IPv4-mapped, NAT64 or
// 6to4 address, and any other address unchanged.
func embeddedIPv4(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16]))
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6]))
	}
	return ip
}

package bitrix24

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// encodeQuery encodes params the way PHP's http_build_query does, which is
// how Bitrix24 reads the sub-queries of a batch (§6.7): nested maps and
// slices become bracketed keys ("filter[>DATE_MODIFY]=…", "select[0]=ID").
// Keys are sorted so that the same params always give the same string.
func encodeQuery(params map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		parts = appendQuery(parts, url.QueryEscape(k), params[k])
	}
	return strings.Join(parts, "&")
}

func appendQuery(parts []string, key string, v any) []string {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = appendQuery(parts, key+"["+url.QueryEscape(k)+"]", v[k])
		}
		return parts
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = appendQuery(parts, key+"["+url.QueryEscape(k)+"]", v[k])
		}
		return parts
	case []string:
		for i, e := range v {
			parts = appendQuery(parts, fmt.Sprintf("%s[%d]", key, i), e)
		}
		return parts
	case []any:
		for i, e := range v {
			parts = appendQuery(parts, fmt.Sprintf("%s[%d]", key, i), e)
		}
		return parts
	case nil:
		return append(parts, key+"=")
	case bool:
		if v {
			return append(parts, key+"=1")
		}
		return append(parts, key+"=0")
	}
	return append(parts, key+"="+url.QueryEscape(fmt.Sprint(v)))
}

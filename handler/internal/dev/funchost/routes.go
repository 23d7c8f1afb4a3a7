package funchost

import (
	"strings"
)

// routeTemplate is a parsed httpTrigger route such as "v1/{*path}" or
// "c/{token}". Literal segments match case-insensitively, as in ASP.NET
// routing; {name?} is optional and {*name} takes the rest of the path.
type routeTemplate struct {
	segments []string
}

func parseRoute(prefix, route string) routeTemplate {
	full := strings.Trim(strings.Trim(prefix, "/")+"/"+strings.Trim(route, "/"), "/")
	if full == "" {
		return routeTemplate{}
	}
	return routeTemplate{segments: strings.Split(full, "/")}
}

// precedence orders templates: each literal segment counts most, each
// parameter less, and a template without a catch-all beats one with.
func (t routeTemplate) precedence() int {
	n := 1
	for _, seg := range t.segments {
		switch {
		case strings.HasPrefix(seg, "{*"):
			n--
		case strings.HasPrefix(seg, "{"):
			n += 2
		default:
			n += 4
		}
	}
	return n
}

func (t routeTemplate) match(path string) bool {
	path = strings.Trim(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	for i, seg := range t.segments {
		isParam := strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
		inner := strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}")
		if isParam && strings.HasPrefix(inner, "*") {
			return true // catch-all: the rest, possibly empty
		}
		if i >= len(parts) {
			// Only optional parameters may be missing.
			return isParam && strings.HasSuffix(inner, "?") && i == len(t.segments)-1
		}
		if isParam {
			if parts[i] == "" {
				return false
			}
			continue
		}
		if !strings.EqualFold(seg, parts[i]) {
			return false
		}
	}
	return len(parts) == len(t.segments)
}

// RouteMatches reports whether the host would route path to an HTTP function
// with the given route template under routePrefix.
func RouteMatches(routePrefix, route, path string) bool {
	return parseRoute(routePrefix, route).match(path)
}

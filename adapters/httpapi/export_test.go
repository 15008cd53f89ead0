package httpapi

// CodeEntry is one row of the code table, for the external tests.
type CodeEntry struct {
	Code   int
	En, Zh string
	Status int
}

// CodeTable is every answer the code table knows: success, each error kind's
// code, and the internal failure.
func CodeTable() []CodeEntry {
	out := []CodeEntry{{Code: codeSuccess, Status: 200}}
	for _, r := range responses {
		out = append(out, CodeEntry{Code: r.code, En: r.en, Zh: r.zh, Status: r.status})
	}
	return append(out, CodeEntry{Code: internalResponse.code, En: internalResponse.en, Zh: internalResponse.zh, Status: internalResponse.status})
}

// RouteCodeEntry is one answer a route words its own way.
type RouteCodeEntry struct {
	Path string
	CodeEntry
}

// RouteCodeTable is every route's own wording of a code.
func RouteCodeTable() []RouteCodeEntry {
	var out []RouteCodeEntry
	for path, m := range routeResponses {
		for _, r := range m {
			out = append(out, RouteCodeEntry{Path: path, CodeEntry: CodeEntry{Code: r.code, En: r.en, Zh: r.zh, Status: r.status}})
		}
	}
	return out
}

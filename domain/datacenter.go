package domain

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MCC is a mobile country code (ITU-T E.212), for example 460 for China.
type MCC int

// ParseMCC parses an MCC given by a client. Anything but an integer in
// 0..999 is rejected with KindMCCUnresolved.
func ParseMCC(s string) (MCC, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return 0, Errorf(KindMCCUnresolved, "mcc %q is not a mobile country code", truncate(s, 16))
	}
	return MCC(n), nil
}

var dataCenterCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// DataCenter is one deployment region of the platform and the MCCs it serves.
type DataCenter struct {
	code   string
	apiURL string
	mccs   []MCC
}

// NewDataCenter validates a data center.
func NewDataCenter(code, apiURL string, mccs []MCC) (DataCenter, error) {
	if !dataCenterCodePattern.MatchString(code) {
		return DataCenter{}, Errorf(KindInvalid, "data center code %q: use 1 to 32 letters, digits, '-' or '_'", truncate(code, 40))
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return DataCenter{}, Errorf(KindInvalid, "data center API URL %q must be an absolute http(s) URL", truncate(apiURL, 200))
	}
	seen := map[MCC]bool{}
	var list []MCC
	for _, m := range mccs {
		if m < 0 || m > 999 {
			return DataCenter{}, Errorf(KindInvalid, "mcc %d is out of range 0..999", m)
		}
		if !seen[m] {
			seen[m] = true
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
	return DataCenter{code: code, apiURL: apiURL, mccs: list}, nil
}

// UnmarshalDataCenterFromDatabase rehydrates a stored data center.
func UnmarshalDataCenterFromDatabase(code, apiURL string, mccs []MCC) DataCenter {
	return DataCenter{code: code, apiURL: apiURL, mccs: mccs}
}

// Code is the data center's code.
func (d DataCenter) Code() string { return d.code }

// APIURL is the base URL of the data center's API.
func (d DataCenter) APIURL() string { return d.apiURL }

// MCCs are the mobile country codes the data center serves (a copy).
func (d DataCenter) MCCs() []MCC { return append([]MCC(nil), d.mccs...) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

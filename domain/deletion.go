package domain

import (
	"strconv"
	"strings"
	"time"
)

// DeletionType is how an end user asks for the account to be deleted.
type DeletionType int

// The deletion types of the platform's userDelete.
const (
	// DeletionNow erases the account at once.
	DeletionNow DeletionType = 1
	// DeletionAfterCoolingOff erases it when the cooling-off ends, unless a
	// login of the same person cancels it first (the default).
	DeletionAfterCoolingOff DeletionType = 2
)

// DefaultDeletionCoolingOff is the cooling-off of a type 2 deletion.
const DefaultDeletionCoolingOff = 7 * 24 * time.Hour

// ParseDeletionType reads the optional type parameter: blank is type 2, "1"
// and "2" are themselves, anything else (another number, a word) is
// KindDeletionTypeInvalid.
func ParseDeletionType(raw string) (DeletionType, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DeletionAfterCoolingOff, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || (n != int(DeletionNow) && n != int(DeletionAfterCoolingOff)) {
		return 0, E(KindDeletionTypeInvalid) // the code says it all: extMsg stays null
	}
	return DeletionType(n), nil
}

// DeletionDue decides when an account is erased after a deletion request of
// type t at now, given the due time of a deletion already pending (zero: none)
// and the cooling-off (zero or negative: DefaultDeletionCoolingOff). A request
// never postpones a pending deletion: the earlier of the two wins, so a
// second type 2 request keeps the first one's date and a type 1 request
// shortens any cooling-off to now.
func DeletionDue(t DeletionType, now, pending time.Time, coolingOff time.Duration) time.Time {
	if coolingOff <= 0 {
		coolingOff = DefaultDeletionCoolingOff
	}
	due := now
	if t == DeletionAfterCoolingOff {
		due = now.Add(coolingOff)
	}
	if !pending.IsZero() && pending.Before(due) {
		return pending
	}
	return due
}

// DeletionIsDue reports whether an account whose deletion is due at due
// (zero: none pending) is to be erased at now.
func DeletionIsDue(due, now time.Time) bool {
	return !due.IsZero() && !due.After(now)
}

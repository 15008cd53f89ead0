package domain

import (
	"testing"
	"time"
)

func TestParseDeletionType(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want DeletionType
		ok   bool
	}{
		{"", DeletionAfterCoolingOff, true},
		{"  ", DeletionAfterCoolingOff, true},
		{"1", DeletionNow, true},
		{" 2 ", DeletionAfterCoolingOff, true},
		{"0", 0, false},
		{"3", 0, false},
		{"-1", 0, false},
		{"1.0", 0, false},
		{"one", 0, false},
		{"true", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, err := ParseDeletionType(tc.raw)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseDeletionType(%q) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
		if !tc.ok && !IsKind(err, KindDeletionTypeInvalid) {
			t.Errorf("ParseDeletionType(%q) = %v, %v; want %s", tc.raw, got, err, KindDeletionTypeInvalid)
		}
	}
}

func TestDeletionDue(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	week := DefaultDeletionCoolingOff
	for _, tc := range []struct {
		name       string
		typ        DeletionType
		pending    time.Time
		coolingOff time.Duration
		want       time.Time
	}{
		{"type 2, none pending", DeletionAfterCoolingOff, time.Time{}, 0, now.Add(week)},
		{"type 2, configured cooling-off", DeletionAfterCoolingOff, time.Time{}, time.Hour, now.Add(time.Hour)},
		{"type 2, negative cooling-off is the default", DeletionAfterCoolingOff, time.Time{}, -time.Hour, now.Add(week)},
		{"type 1, none pending", DeletionNow, time.Time{}, 0, now},
		{"type 1 shortens a pending cooling-off", DeletionNow, now.Add(3 * 24 * time.Hour), 0, now},
		{"type 2 again keeps the first date", DeletionAfterCoolingOff, now.Add(3 * 24 * time.Hour), 0, now.Add(3 * 24 * time.Hour)},
		{"type 2 never postpones a due one", DeletionAfterCoolingOff, now.Add(-time.Minute), 0, now.Add(-time.Minute)},
	} {
		if got := DeletionDue(tc.typ, now, tc.pending, tc.coolingOff); !got.Equal(tc.want) {
			t.Errorf("%s: DeletionDue = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestDeletionIsDue(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		due  time.Time
		want bool
	}{
		{time.Time{}, false},
		{now.Add(time.Nanosecond), false},
		{now, true},
		{now.Add(-time.Hour), true},
	} {
		if got := DeletionIsDue(tc.due, now); got != tc.want {
			t.Errorf("DeletionIsDue(%v) = %v; want %v", tc.due, got, tc.want)
		}
	}
}

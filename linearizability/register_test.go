package linearizability

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func TestCheckCommits(t *testing.T) {
	cases := []struct {
		name string
		want porcupine.CheckResult
		h    CommitHistory
	}{
		{"nothing committed", porcupine.Ok, CommitHistory{Reads: []OffsetRead{{Call: 0, Return: 1, Offset: -1}}}},
		{"read after commit", porcupine.Ok, CommitHistory{
			Commits: []Commit{{Call: 0, Return: 10, Offset: 5, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 11, Return: 12, Offset: 5}}}},
		{"stale read after commit", porcupine.Illegal, CommitHistory{
			Commits: []Commit{{Call: 0, Return: 10, Offset: 5, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 11, Return: 12, Offset: -1}}}},
		{"concurrent read sees either", porcupine.Ok, CommitHistory{
			Commits: []Commit{{Call: 0, Return: 10, Offset: 5, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 2, Return: 3, Offset: -1}, {Call: 4, Return: 5, Offset: 5}}}},
		{"read goes back", porcupine.Illegal, CommitHistory{
			Commits: []Commit{{Call: 0, Return: 10, Offset: 5, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 2, Return: 3, Offset: 5}, {Call: 4, Return: 5, Offset: -1}}}},
		{"unknown commit may land late", porcupine.Ok, CommitHistory{
			Commits: []Commit{{Call: 0, Offset: 3, Outcome: Unknown}, {Call: 1, Return: 2, Offset: 4, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 5, Return: 6, Offset: 4}, {Call: 7, Return: 8, Offset: 3}}}},
		{"unknown commit may not land", porcupine.Ok, CommitHistory{
			Commits: []Commit{{Call: 0, Offset: 3, Outcome: Unknown}},
			Reads:   []OffsetRead{{Call: 5, Return: 6, Offset: -1}}}},
		{"value never committed", porcupine.Illegal, CommitHistory{
			Commits: []Commit{{Call: 0, Return: 1, Offset: 3, Outcome: OK}},
			Reads:   []OffsetRead{{Call: 5, Return: 6, Offset: 7}}}},
	}
	for _, c := range cases {
		if r := CheckCommits(c.h, testTimeout); r.Verdict != c.want {
			t.Errorf("%s: got %v; want %v", c.name, r, c.want)
		}
	}
}

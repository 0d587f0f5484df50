package sim

import (
	"strings"
	"testing"

	"cloudkafka/core"
)

// syncOp is an acknowledged SyncGroup of member in generation gen that
// received assigned; sent, when not nil, makes it the leader's.
func syncOp(member string, gen int32, call int64, assigned []int32, sent map[string][]int32) *Op {
	return &Op{Client: member, Kind: OpSync, Call: core.Instant(call), Return: core.Instant(call + 5), Outcome: OK,
		Member: member, Generation: gen, Assigned: assigned, Sent: sent}
}

// TestCheckGroupsOwnership proves that the ownership check of checkGroups
// can fail, and that it passes partitions handed from one generation to
// the next: each case is a hand-built history of SyncGroups and the
// failure it must cause ("" for none).
func TestCheckGroupsOwnership(t *testing.T) {
	cases := []struct {
		name string
		ops  []*Op
		want string // a substring of an ownership failure; "" for none
	}{
		{"one generation, disjoint", []*Op{
			syncOp("m1", 1, 10, []int32{0, 1}, map[string][]int32{"m1": {0, 1}, "m2": {2}}),
			syncOp("m2", 1, 11, []int32{2}, nil),
		}, ""},
		{"hand-off between generations", []*Op{
			syncOp("m1", 1, 10, []int32{0, 1, 2}, map[string][]int32{"m1": {0, 1, 2}}),
			syncOp("m1", 2, 40, []int32{0, 1}, map[string][]int32{"m1": {0, 1}, "m2": {2}}),
			syncOp("m2", 2, 41, []int32{2}, nil),
			syncOp("m2", 3, 70, []int32{0, 1, 2}, map[string][]int32{"m2": {0, 1, 2}}),
		}, ""},
		{"a refused sync owns nothing", []*Op{
			syncOp("m1", 1, 10, []int32{0, 1}, nil),
			{Client: "m2", Kind: OpSync, Call: 11, Return: 16, Outcome: Failed, Member: "m2", Generation: 1, Assigned: []int32{1}},
		}, ""},
		{"a static member back under a new id is one owner", []*Op{
			{Client: "m1", Kind: OpSync, Call: 10, Return: 15, Outcome: OK, Member: "m1-instance-a", Instance: "m1-instance",
				Generation: 1, Assigned: []int32{0}},
			{Client: "m1", Kind: OpSync, Call: 30, Return: 35, Outcome: OK, Member: "m1-instance-b", Instance: "m1-instance",
				Generation: 1, Assigned: []int32{0}},
		}, ""},
		{"two members own a partition in one generation", []*Op{
			syncOp("m1", 1, 10, []int32{0, 1}, nil),
			syncOp("m2", 1, 11, []int32{1}, nil),
		}, "generation 1: partition 1 assigned to m1"},
		{"every member received the leader's assignment", []*Op{
			syncOp("m1", 4, 10, []int32{0}, map[string][]int32{"m1": {0}, "m2": {1}}),
			syncOp("m2", 4, 11, []int32{0}, nil),
		}, "generation 4: partition 0 assigned to m1"},
		{"a member received what the leader did not send it", []*Op{
			syncOp("m1", 2, 10, []int32{0}, map[string][]int32{"m1": {0}, "m2": {1}}),
			syncOp("m2", 2, 11, []int32{}, nil),
		}, "m2 (op 1) received partitions []; the leader (op 0) sent it [1]"},
		{"two leaders' assignments in one generation", []*Op{
			syncOp("m1", 3, 10, []int32{0}, map[string][]int32{"m1": {0}, "m2": {1}}),
			syncOp("m2", 3, 11, []int32{1}, map[string][]int32{"m1": {1}, "m2": {0}}),
		}, "generation 3: two leaders' assignments acknowledged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &History{}
			for _, op := range tc.ops {
				h.begin(op)
			}
			fails := checkGroups(h)
			if tc.want == "" {
				if len(fails) > 0 {
					t.Fatalf("want no failures, got:\n  %s", strings.Join(fails, "\n  "))
				}
				return
			}
			for _, f := range fails {
				if strings.HasPrefix(f, "ownership: ") && strings.Contains(f, tc.want) {
					return
				}
			}
			t.Fatalf("want an ownership failure containing %q, got:\n  %s", tc.want, strings.Join(fails, "\n  "))
		})
	}
}

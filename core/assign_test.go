package core

import (
	"fmt"
	"testing"
)

func places(racks map[BrokerID]string) []brokerPlace {
	var out []brokerPlace
	for id := BrokerID(0); int(id) < 100; id++ {
		if r, ok := racks[id]; ok {
			out = append(out, brokerPlace{id: id, rack: r})
		}
	}
	return out
}

// Kafka's own expectations (AdminRackAwareTest, AdminUtils' examples).
func TestAssignReplicasAsKafka(t *testing.T) {
	rackMap := map[BrokerID]string{0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
	if got := fmt.Sprint(rackAlternated(places(rackMap))); got != "[0 3 1 5 4 2]" {
		t.Errorf("rack-alternated list: got %s; want [0 3 1 5 4 2]", got)
	}
	delete(rackMap, 5)
	if got := fmt.Sprint(rackAlternated(places(rackMap))); got != "[0 3 1 4 2]" {
		t.Errorf("rack-alternated list without 5: got %s; want [0 3 1 4 2]", got)
	}
	rackMap[5] = "rack1"
	got, err := assignReplicas(places(rackMap), 7, 3, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[[0 3 1] [3 1 5] [1 5 4] [5 4 2] [4 2 0] [2 0 3] [0 4 2]]"; fmt.Sprint(got) != want {
		t.Errorf("rack-aware assignment: got %v; want %s", got, want)
	}
	// The rack-unaware example of AdminUtils' documentation: five
	// brokers, ten partitions, three replicas, start 0.
	plain := places(map[BrokerID]string{0: "", 1: "", 2: "", 3: "", 4: ""})
	got, err = assignReplicas(plain, 10, 3, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[[0 1 2] [1 2 3] [2 3 4] [3 4 0] [4 0 1] [0 2 3] [1 3 4] [2 4 0] [3 0 1] [4 1 2]]"; fmt.Sprint(got) != want {
		t.Errorf("rack-unaware assignment: got %v; want %s", got, want)
	}
	// A growth continues the sequence: partitions 5-9 assigned later are
	// those the whole assignment gives them.
	grown, err := assignReplicas(plain, 5, 3, 0, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(grown) != fmt.Sprint(got[5:]) {
		t.Errorf("growth from partition 5: got %v; want %v", grown, got[5:])
	}
}

func TestAssignReplicasRefusals(t *testing.T) {
	two := places(map[BrokerID]string{1: "", 2: ""})
	for _, c := range []struct {
		brokers []brokerPlace
		n, rf   int32
		want    string
	}{
		{two, 0, 1, "Number of partitions must be larger than 0."},
		{two, 1, 0, "Replication factor must be larger than 0."},
		{two, 1, 3, "Replication factor: 3 larger than available brokers: 2."},
		{places(map[BrokerID]string{1: "a", 2: ""}), 1, 1, errRackInfo},
	} {
		if _, err := assignReplicas(c.brokers, c.n, c.rf, 0, 0, 0); err == nil || err.Error() != c.want {
			t.Errorf("assign %d partitions x %d over %v: got %v; want %q", c.n, c.rf, c.brokers, err, c.want)
		}
	}
}

// Every broker leads its share of partitions, and with racks each
// partition's replicas sit on distinct racks when there are enough.
func TestAssignReplicasSpread(t *testing.T) {
	brokers := places(map[BrokerID]string{0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"})
	for start := 0; start < 6; start++ {
		got, err := assignReplicas(brokers, 12, 3, start, start, 0)
		if err != nil {
			t.Fatal(err)
		}
		leads := map[BrokerID]int{}
		for p, rs := range got {
			leads[rs[0]]++
			racks := map[string]bool{}
			for _, r := range rs {
				racks[brokers[r].rack] = true
			}
			if len(racks) != 3 {
				t.Errorf("start %d partition %d: replicas %v on racks %v; want three racks", start, p, rs, racks)
			}
		}
		for id, n := range leads {
			if n != 2 {
				t.Errorf("start %d: broker %d leads %d partitions; want 2", start, id, n)
			}
		}
	}
}

package core

import (
	"fmt"
	"slices"
)

// Replica assignment: Kafka's (AdminUtils.assignReplicasToBrokers), so
// that a topic created here spreads over the brokers as it would on
// Kafka. The first replica of each partition goes round-robin from a
// random position in the broker list (sorted by id; with racks, the
// rack-alternated list), the others with a shift that grows each time
// the partitions wrap around the list; with racks, the other replicas
// prefer racks and then brokers that have none of the partition yet.

// brokerPlace is a broker as assignment sees it.
type brokerPlace struct {
	id   BrokerID
	rack string // "" when broker.rack is not set
}

// errRackInfo is Kafka's complaint when only some brokers have a rack.
const errRackInfo = "Not all brokers have rack information for replica rack aware assignment."

// assignReplicas assigns replicas for partitions startPartition ..
// startPartition+n-1 over brokers. startIndex and shift are the random
// start position and replica shift (Kafka draws both; a growth of an
// existing topic passes the start of its partition 0 as both).
func assignReplicas(brokers []brokerPlace, n, rf int32, startIndex, shift, startPartition int) ([][]BrokerID, error) {
	if n <= 0 {
		return nil, fmt.Errorf("Number of partitions must be larger than 0.")
	}
	if rf <= 0 {
		return nil, fmt.Errorf("Replication factor must be larger than 0.")
	}
	if int(rf) > len(brokers) {
		return nil, fmt.Errorf("Replication factor: %d larger than available brokers: %d.", rf, len(brokers))
	}
	racks := 0
	for _, b := range brokers {
		if b.rack != "" {
			racks++
		}
	}
	if racks == 0 {
		ids := make([]BrokerID, len(brokers))
		for i, b := range brokers {
			ids[i] = b.id
		}
		slices.Sort(ids)
		return assignRackUnaware(ids, n, rf, startIndex, shift, startPartition), nil
	}
	if racks < len(brokers) {
		return nil, fmt.Errorf(errRackInfo)
	}
	return assignRackAware(brokers, n, rf, startIndex, shift, startPartition), nil
}

func assignRackUnaware(ids []BrokerID, n, rf int32, startIndex, shift, startPartition int) [][]BrokerID {
	nb := len(ids)
	out := make([][]BrokerID, 0, n)
	for p := startPartition; p < startPartition+int(n); p++ {
		if p > 0 && p%nb == 0 {
			shift++
		}
		first := (p + startIndex) % nb
		replicas := []BrokerID{ids[first]}
		for j := 0; j < int(rf)-1; j++ {
			replicas = append(replicas, ids[replicaIndex(first, shift, j, nb)])
		}
		out = append(out, replicas)
	}
	return out
}

func assignRackAware(brokers []brokerPlace, n, rf int32, startIndex, shift, startPartition int) [][]BrokerID {
	rackOf := map[BrokerID]string{}
	rackSet := map[string]bool{}
	for _, b := range brokers {
		rackOf[b.id] = b.rack
		rackSet[b.rack] = true
	}
	numRacks := len(rackSet)
	list := rackAlternated(brokers)
	nb := len(list)
	out := make([][]BrokerID, 0, n)
	for p := startPartition; p < startPartition+int(n); p++ {
		if p > 0 && p%nb == 0 {
			shift++
		}
		first := (p + startIndex) % nb
		leader := list[first]
		replicas := []BrokerID{leader}
		racksWith := map[string]bool{rackOf[leader]: true}
		brokersWith := map[BrokerID]bool{leader: true}
		k := 0
		for j := 0; j < int(rf)-1; j++ {
			for {
				b := list[replicaIndex(first, shift*numRacks, k, nb)]
				r := rackOf[b]
				k++
				// Skip a broker on a rack that has a replica while some
				// rack has none, or one with a replica while some broker
				// has none.
				if (!racksWith[r] || len(racksWith) == numRacks) && (!brokersWith[b] || len(brokersWith) == nb) {
					replicas = append(replicas, b)
					racksWith[r], brokersWith[b] = true, true
					break
				}
			}
		}
		out = append(out, replicas)
	}
	return out
}

// rackAlternated lists the brokers taking one from each rack in turn,
// racks in name order and brokers of a rack in id order: rack1 {0,1},
// rack2 {3,4} gives 0, 3, 1, 4.
func rackAlternated(brokers []brokerPlace) []BrokerID {
	byRack := map[string][]BrokerID{}
	for _, b := range brokers {
		byRack[b.rack] = append(byRack[b.rack], b.id)
	}
	racks := sortedKeys(byRack)
	for _, r := range racks {
		slices.Sort(byRack[r])
	}
	var out []BrokerID
	for i := 0; len(out) < len(brokers); i++ {
		r := racks[i%len(racks)]
		if j := i / len(racks); j < len(byRack[r]) {
			out = append(out, byRack[r][j])
		}
	}
	return out
}

func replicaIndex(first, shift, j, nb int) int {
	s := 1 + (shift+j)%(nb-1)
	return (first + s) % nb
}

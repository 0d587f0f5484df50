package core

import "github.com/twmb/franz-go/pkg/kmsg"

// StopReplica: v4 (inter-broker: the controller's own version)
//
// Behavior:
//   - Fenced as LeaderAndIsr is.
//   - This broker stops leading each named partition it hosts, and with
//     Delete deletes its replica and log (a deleted topic).

func (b *Broker) handleStopReplica(r Request) {
	b.respond(r, b.applyStopReplica(r.Body.(*kmsg.StopReplicaRequest)))
}

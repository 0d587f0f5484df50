package core

import "github.com/twmb/franz-go/pkg/kmsg"

// ListOffsets: v1-6
//
// Behavior:
//   - Timestamp -2 answers the log start offset, -1 the high watermark
//     (equal to the last stable offset: there are no transactions).
//   - A timestamp >= 0 answers the first offset of the first batch whose
//     max timestamp is at or after it, among committed batches, with that
//     batch's timestamp; none answers offset -1 and timestamp -1.
//   - Other negative timestamps (max-timestamp -3, tiered -4/-5) need
//     versions that are not advertised and answer INVALID_REQUEST.
//   - v4+ CurrentLeaderEpoch is checked (FENCED_/UNKNOWN_LEADER_EPOCH).

func (b *Broker) handleListOffsets(r Request) {
	req := r.Body.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
		slots := resp.Topics[len(resp.Topics)-1].Partitions
		for i, in := range t.Partitions {
			out := &slots[i]
			*out = kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition, out.Timestamp, out.Offset = in.Partition, -1, -1
			p := b.partitionOf(t.Topic, in.Partition)
			switch {
			case p == nil:
				out.ErrorCode = errUnknownTopic
				continue
			case p.offline:
				out.ErrorCode = errStorage
				continue
			}
			if out.ErrorCode = checkEpoch(p, in.CurrentLeaderEpoch); out.ErrorCode != errNone {
				continue
			}
			out.LeaderEpoch = int32(p.epoch)
			switch ts := in.Timestamp; {
			case ts == -2:
				out.Offset = int64(p.logStart)
			case ts == -1:
				out.Offset = int64(p.hwm)
			case ts < 0:
				out.ErrorCode = errInvalidRequest
			default:
				pending++
				tok := b.await(func(ev Event) {
					tf := ev.(TimeFound)
					switch {
					case tf.Err != nil:
						out.ErrorCode = errStorage
					case tf.Found:
						out.Offset, out.Timestamp = int64(tf.Offset), tf.Timestamp
					}
					finish()
				})
				b.emit(FindTime{Token: tok, Partition: p.tp, Timestamp: ts, Below: p.hwm})
			}
		}
	}
	finish()
}

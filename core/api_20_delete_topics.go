package core

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// errTopicDeleted fails work still pending on a deleted topic.
var errTopicDeleted = errors.New("topic deleted")

// DeleteTopics: v1-6
//
// Behavior:
//   - Topics are named (v1-5) or, from v6, named or given by id (both at
//     once is INVALID_REQUEST).
//   - Once the coordination store has dropped the topic znode, the topic
//     disappears from metadata, its partition logs are deleted, parked
//     fetches on it are answered, and the request is answered. If that
//     write fails the topic stays whole and the answer is
//     UNKNOWN_SERVER_ERROR.
//   - An unknown topic answers UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID
//     when given by id).
//   - With delete.topic.enable=false every topic answers
//     TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3), as in Kafka.

func (b *Broker) handleDeleteTopics(r Request) {
	req := r.Body.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type want struct {
		name *string
		id   [16]byte
	}
	var wants []want
	if r.Header.Version >= 6 {
		for _, t := range req.Topics {
			wants = append(wants, want{t.Topic, t.TopicID})
		}
	} else {
		for _, n := range req.TopicNames {
			n := n
			wants = append(wants, want{name: &n})
		}
	}
	resp.Topics = make([]kmsg.DeleteTopicsResponseTopic, len(wants))
	g := b.gather(r, resp)
	for i, w := range wants {
		out := &resp.Topics[i]
		*out = kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = w.name, w.id
		if !b.cfg.DeleteTopicEnable {
			out.ErrorCode = errTopicDeletionDisabled
			if r.Header.Version < 3 {
				out.ErrorCode = errInvalidRequest
			}
			continue
		}
		if w.name != nil && w.id != ([16]byte{}) {
			out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("give a topic name or a topic id, not both")
			continue
		}
		var t *topic
		if w.name != nil {
			t = b.topics[*w.name]
		} else {
			t = b.topicsByID[TopicID(w.id)]
		}
		if t == nil || t.deleting {
			out.ErrorCode = errUnknownTopic
			if w.name == nil {
				out.ErrorCode = errUnknownTopicID
			}
			continue
		}
		name := t.name
		out.Topic, out.TopicID = &name, t.id
		g.add()
		b.deleteTopic(t, func(err error) {
			if err != nil {
				out.ErrorCode, out.ErrorMessage = errUnknownServer, errMsg(err.Error())
			}
			g.done()
		})
	}
	g.done()
}

// deleteTopic removes the topic znode first and only then the topic and
// its logs, so a failed write leaves the topic whole.
func (b *Broker) deleteTopic(t *topic, done func(error)) {
	t.deleting = true
	b.coordWrite(deleteTreeOp(zkTopics+t.name), func(err error) {
		t.deleting = false
		if err != nil && !errors.Is(err, ErrCoordNoNode) {
			done(err)
			return
		}
		delete(b.topics, t.name)
		delete(b.topicsByID, t.id)
		for _, p := range t.parts {
			p.offline, p.deleted = true, true // pending work fails rather than resurrecting it
			b.takeOffline(p, errTopicDeleted)
			b.emit(DeleteLog{Partition: p.tp})
		}
		b.coordWrite(deleteTreeOp(zkConfigs+t.name), nil)
		if t.name == OffsetsTopic {
			b.groups.unload()
		}
		done(nil)
	})
}

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
//   - Needs Delete on each topic (acl.go), else
//     TOPIC_AUTHORIZATION_FAILED whether it exists or not; asked by id,
//     an unknown id is UNKNOWN_TOPIC_ID first, and a known one needs
//     Describe too (its name is not disclosed when denied).
//   - Topics are named (v1-5) or, from v6, named or given by id (both at
//     once is INVALID_REQUEST).
//   - This broker marks the topic for deletion (/admin/delete_topics/<t>);
//     the controller has every broker drop it from its metadata and every
//     replica delete its log (parked fetches on it are answered), then
//     deletes its znodes. The answer waits, up to TimeoutMillis, until
//     this broker's metadata no longer lists the topic (REQUEST_TIMED_OUT
//     after: the deletion goes on, as in Kafka, and waits for a replica's
//     broker that is down). A failed mark is UNKNOWN_SERVER_ERROR.
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
			if !b.authorized(r, kmsg.ACLOperationDelete, kmsg.ACLResourceTypeTopic, *w.name) {
				out.ErrorCode = errTopicAuth
				continue
			}
			t = b.listedTopic(*w.name)
		} else if t = b.topicsByID[TopicID(w.id)]; t != nil && !t.listed() {
			t = nil
		}
		if t != nil && w.name == nil && !(b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, t.name) &&
			b.authorized(r, kmsg.ACLOperationDelete, kmsg.ACLResourceTypeTopic, t.name)) {
			out.ErrorCode = errTopicAuth // by id, the name is not disclosed
			continue
		}
		if t == nil {
			out.ErrorCode = errUnknownTopic
			if w.name == nil {
				out.ErrorCode = errUnknownTopicID
			}
			continue
		}
		name := t.name
		out.Topic, out.TopicID = &name, t.id
		g.add()
		b.markDeleted(t, req.TimeoutMillis, func(code int16, msg string) {
			if code != errNone {
				out.ErrorCode = code
				if r.Header.Version >= 5 {
					out.ErrorMessage = errMsg(msg)
				}
			}
			g.done()
		})
	}
	g.done()
}

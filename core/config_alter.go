package core

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// What AlterConfigs and IncrementalAlterConfigs share (Kafka's
// ConfigAdminManager.preprocess and ZkAdminManager.alterConfigs and
// incrementalAlterConfigs):
//   - A resource named twice in one request is INVALID_REQUEST for each
//     ("Each resource must appear at most once.").
//   - Topics need AlterConfigs on the topic (TOPIC_AUTHORIZATION_FAILED),
//     brokers on the cluster (CLUSTER_AUTHORIZATION_FAILED).
//   - A config name given twice is INVALID_REQUEST; so is a null value,
//     except to delete, and an unknown operation.
//   - A topic: the default resource ("") is INVALID_REQUEST, an unknown
//     topic UNKNOWN_TOPIC_OR_PARTITION; the new overrides are checked as
//     CreateTopics checks them, and an unknown name or a bad value is
//     INVALID_CONFIG with nothing changed.
//   - A broker: "" is the cluster-wide default, else the name must be
//     this broker's id (INVALID_REQUEST otherwise, as with ZooKeeper each
//     broker takes its own); properties that cannot change at run time,
//     and values that do not apply, are INVALID_REQUEST (Kafka's answer
//     since KAFKA-13609), nothing changed.
//   - APPEND and SUBTRACT work on list configs only (INVALID_CONFIG).
//   - ValidateOnly checks everything and stores nothing.
//   - The answer leaves once the change is stored and announced; this
//     broker already applies it (config_dynamic.go).

const (
	opSet      = 0
	opDelete   = 1
	opAppend   = 2
	opSubtract = 3

	resourceBrokerLogger = 8
)

// configEdit is one operation on a resource's configuration.
type configEdit struct {
	name  string
	op    int8
	value *string
}

// errValidatedOnly stops a ValidateOnly change before the write.
var errValidatedOnly = errors.New("validated only")

// alterError is an answer's error code and message.
type alterError struct {
	code int16
	msg  string
}

func (e *alterError) Error() string { return e.msg }

func alterFailed(code int16, format string, args ...any) error {
	return &alterError{code: code, msg: fmt.Sprintf(format, args...)}
}

// duplicateResources returns which resources of a request are named more
// than once (by index).
func duplicateResources(n int, key func(i int) string) map[int]bool {
	first := map[string]int{}
	dup := map[int]bool{}
	for i := 0; i < n; i++ {
		k := key(i)
		if j, ok := first[k]; ok {
			dup[i], dup[j] = true, true
			continue
		}
		first[k] = i
	}
	return dup
}

// alterTarget is one resource of an AlterConfigs or IncrementalAlterConfigs
// request: its changes, and how to set its answer in the response.
type alterTarget struct {
	typ     int8
	name    string
	changes []configEdit
	answer  func(code int16, msg *string)
}

// alterResources applies every resource's changes and responds with resp
// once all are answered. A resource named twice is INVALID_REQUEST for
// each; AlterConfigs (replace) knows no broker loggers.
func (b *Broker) alterResources(r Request, resp kmsg.Response, targets []alterTarget, replace, validateOnly bool) {
	dup := duplicateResources(len(targets), func(i int) string {
		return strconv.Itoa(int(targets[i].typ)) + "/" + targets[i].name
	})
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for i, t := range targets {
		answer := func(code int16, msg string) {
			var m *string
			if msg != "" {
				m = errMsg(msg)
			}
			t.answer(code, m)
			finish()
		}
		pending++
		switch {
		case dup[i]:
			answer(errInvalidRequest, "Each resource must appear at most once.")
		case replace && t.typ == resourceBrokerLogger:
			answer(errInvalidRequest, "Unknown resource type 8")
		default:
			b.alterResource(r, t.typ, t.name, t.changes, replace, validateOnly, answer)
		}
	}
	finish()
}

// alterResource applies changes to one resource; done gets the answer's
// error code and message (errNone, "" on success). replace says the
// changes replace the whole configuration (AlterConfigs) rather than
// edit it.
func (b *Broker) alterResource(r Request, typ int8, name string, changes []configEdit, replace, validateOnly bool, done func(int16, string)) {
	fail := func(err error) {
		var ae *alterError
		switch {
		case err == nil, errors.Is(err, errValidatedOnly):
			done(errNone, "")
		case errors.As(err, &ae):
			done(ae.code, ae.msg)
		default:
			done(kerr.UnknownServerError.Code, "storing the configuration: "+err.Error())
		}
	}
	switch typ {
	case resourceTopic:
		if !b.authorized(r, kmsg.ACLOperationAlterConfigs, kmsg.ACLResourceTypeTopic, name) {
			done(errTopicAuth, "")
			return
		}
	case resourceBroker, resourceBrokerLogger:
		if !b.authorizedCluster(r, kmsg.ACLOperationAlterConfigs) {
			done(errClusterAuth, "")
			return
		}
	}
	if err := checkChanges(changes); err != nil {
		fail(err)
		return
	}
	switch typ {
	case resourceTopic:
		b.alterTopicConfig(name, changes, replace, validateOnly, fail)
	case resourceBroker:
		b.alterBrokerConfig(name, changes, replace, validateOnly, fail)
	case resourceBrokerLogger:
		done(errInvalidRequest, "broker loggers are not configurable: the broker logs through its runtime")
	default:
		done(errInvalidRequest, fmt.Sprintf("Unknown resource type %d", typ))
	}
}

// checkChanges applies the checks that need no configuration.
func checkChanges(changes []configEdit) error {
	seen := map[string]bool{}
	var nulls []string
	for _, c := range changes {
		if seen[c.name] {
			return alterFailed(errInvalidRequest, "Error due to duplicate config keys")
		}
		seen[c.name] = true
		if c.op < opSet || c.op > opSubtract {
			return alterFailed(errInvalidRequest, "Unknown operations type %d", c.op)
		}
		if c.op != opDelete && c.value == nil {
			nulls = append(nulls, c.name)
		}
	}
	if len(nulls) > 0 {
		return alterFailed(errInvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	return nil
}

// applyChanges computes a new configuration from the stored one; isList
// says whether a name is a list config (APPEND, SUBTRACT); known whether
// it is a config at all, for them; def its default.
func applyChanges(config map[string]string, changes []configEdit, replace bool, isList func(string) (list, known bool), def func(string) string) (map[string]string, error) {
	if replace {
		config = map[string]string{}
	}
	for _, c := range changes {
		switch c.op {
		case opSet:
			config[c.name] = *c.value
		case opDelete:
			delete(config, c.name)
		case opAppend, opSubtract:
			list, known := isList(c.name)
			verb := "append"
			if c.op == opSubtract {
				verb = "subtract"
			}
			if !known {
				return nil, alterFailed(errInvalidConfig, "Unknown config name: %s", c.name)
			}
			if !list {
				return nil, alterFailed(errInvalidConfig, "Config value %s is not allowed for config key: %s", verb, c.name)
			}
			old, ok := config[c.name]
			if !ok {
				old = def(c.name)
			}
			var items []string
			for _, v := range strings.Split(old, ",") {
				if v != "" {
					items = append(items, v)
				}
			}
			for _, v := range strings.Split(*c.value, ",") {
				switch {
				case c.op == opAppend && !slices.Contains(items, v):
					items = append(items, v)
				case c.op == opSubtract:
					if i := slices.Index(items, v); i >= 0 {
						items = slices.Delete(items, i, i+1)
					}
				}
			}
			config[c.name] = strings.Join(items, ",")
		}
	}
	return config, nil
}

func resourceString(kind, name string) string {
	return fmt.Sprintf("ConfigResource(type=%s, name='%s')", kind, name)
}

// alterTopicConfig changes a topic's overrides (/config/topics/<t>).
func (b *Broker) alterTopicConfig(name string, changes []configEdit, replace, validateOnly bool, done func(error)) {
	if name == "" {
		done(alterFailed(errInvalidRequest, "Default topic resources are not allowed."))
		return
	}
	if t := b.topics[name]; t == nil || t.unlisted {
		done(alterFailed(errUnknownTopic, "The topic '%s' does not exist.", name))
		return
	}
	isList := func(n string) (bool, bool) {
		tc, ok := findTopicConfig(n)
		return tc.kind == cfgList, ok
	}
	def := func(n string) string {
		if t := b.topics[name]; t != nil {
			tc, _ := findTopicConfig(n)
			v, _ := b.cfg.topicValue(t, tc)
			return v
		}
		return ""
	}
	b.alterEntityConfig("topics/"+name, func(config map[string]string) (map[string]string, error) {
		config, err := applyChanges(config, changes, replace, isList, def)
		if err != nil {
			return nil, err
		}
		if err := validateTopicConfigs(config); err != nil {
			return nil, alterFailed(errInvalidConfig, "Invalid config value for resource %s: %v", resourceString("TOPIC", name), err)
		}
		if validateOnly {
			return nil, errValidatedOnly
		}
		return config, nil
	}, func(config map[string]string, err error) {
		if t := b.topics[name]; config != nil && t != nil {
			b.cover(cover.DynamicConfigAltered)
			t.setConfigs(config)
			t.configApplied = t.configReads // reads issued before the write answer with older overrides
			b.reportConfig("topics/"+name, config)
		}
		done(err)
	})
}

// alterBrokerConfig changes a broker's or the cluster-wide dynamic
// properties (/config/brokers/<id> or /config/brokers/<default>).
func (b *Broker) alterBrokerConfig(name string, changes []configEdit, replace, validateOnly bool, done func(error)) {
	entity := brokerDefaultEntity
	if name != "" {
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			done(alterFailed(errInvalidRequest, "Broker id must be an integer, but it is: %s", name))
			return
		}
		if BrokerID(id) != b.cfg.BrokerID {
			done(alterFailed(errInvalidRequest, "Unexpected broker id, expected %d, but received %s", b.cfg.BrokerID, name))
			return
		}
		entity = name
	}
	isList := func(n string) (bool, bool) {
		_, ok := findProperty(n)
		return n == "log.cleanup.policy", ok
	}
	def := func(n string) string {
		v, _, ok := b.cfg.propLevel(n)
		if !ok {
			v = orDefault(n, "")
		}
		return v
	}
	b.alterEntityConfig("brokers/"+entity, func(config map[string]string) (map[string]string, error) {
		config, err := applyChanges(config, changes, replace, isList, def)
		if err != nil {
			return nil, err
		}
		if err := b.checkBrokerDynamic(entity, config); err != nil {
			return nil, alterFailed(errInvalidRequest, "%v", err)
		}
		if validateOnly {
			return nil, errValidatedOnly
		}
		return config, nil
	}, func(config map[string]string, err error) {
		if config != nil {
			b.cover(cover.DynamicConfigAltered)
			b.dyn.applied = b.dyn.reads // reads issued before the write answer with older documents
			if entity == brokerDefaultEntity {
				b.applyBrokerDynamic(config, b.dyn.own)
			} else {
				b.applyBrokerDynamic(b.dyn.defaults, config)
			}
		}
		done(err)
	})
}

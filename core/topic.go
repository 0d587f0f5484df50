package core

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// topic is one topic's metadata. Partitions are numbered 0..len-1.
type topic struct {
	name    string
	id      TopicID
	parts   []*partition
	configs map[string]string // explicit topic-level overrides only; change with setConfigs
	// configReads numbers the reads of the topic's overrides as they are
	// issued; configApplied is the number of the last read applied, or,
	// after an AlterConfigs applied its own write, of the last read
	// issued: a read's answer applies only if no later one was applied
	// since, so that a read issued before the write never undoes it (as
	// the broker documents' reads, Broker.dyn).
	configReads, configApplied uint64
	// settings are the configs resolved for the broker configuration of
	// generation settingsGen (nil: not yet, or the overrides changed).
	settings    *topicSettings
	settingsGen uint64
	// unlisted: the topic is being deleted; Metadata no longer lists it
	// and it leaves the cache once this broker hosts none of its replicas.
	unlisted bool
}

// setConfigs replaces the topic's overrides.
func (t *topic) setConfigs(configs map[string]string) {
	t.configs, t.settings = configs, nil
}

// topicSettings are a topic's configs resolved once, typed, for the
// paths that read them for every batch: a topic's overrides over the
// broker's values. They are resolved again when the overrides or the
// broker's dynamic configuration change (Config.gen).
type topicSettings struct {
	log             LogConfig
	maxMessageBytes int64
	minInsync       int64
	flushMessages   int64
	flushMs         int64
	segmentBytes    int64
	logAppendTime   bool
	unclean         bool
	deletes         bool // cleanup.policy holds delete
	compacts        bool // cleanup.policy holds compact
}

// settingsOf returns t's resolved settings (t nil: the broker's values,
// resolved each time).
func (c Config) settingsOf(t *topic) *topicSettings {
	if t == nil {
		return c.settingsOf(&topic{}) // no overrides, not kept
	}
	if t.settings != nil && t.settingsGen == c.gen {
		return t.settings
	}
	ts := &topicSettings{
		log:             c.resolveLogConfig(t),
		maxMessageBytes: c.topicInt(t, "max.message.bytes"),
		minInsync:       c.topicInt(t, "min.insync.replicas"),
		flushMessages:   c.topicInt(t, "flush.messages"),
		flushMs:         c.topicInt(t, "flush.ms"),
		segmentBytes:    c.topicInt(t, "segment.bytes"),
		unclean:         c.topicBool(t, "unclean.leader.election.enable"),
	}
	v, _ := c.topicValue(t, mustTopicConfig("message.timestamp.type"))
	ts.logAppendTime = v == "LogAppendTime"
	ts.deletes, ts.compacts = c.topicPolicy(t)
	t.settings, t.settingsGen = ts, c.gen
	return ts
}

// topicConfig describes a topic-level config: its Kafka name, the broker
// property that supplies its default, its Kafka type, and validation.
type topicConfig struct {
	name     string
	synonym  string // broker property providing the default
	kind     kmsg.ConfigType
	validate func(string) error
}

// Kafka's ConfigType numbers (DescribeConfigs v3+).
const (
	cfgBoolean kmsg.ConfigType = 1
	cfgString  kmsg.ConfigType = 2
	cfgInt     kmsg.ConfigType = 3
	cfgLong    kmsg.ConfigType = 5
	cfgDouble  kmsg.ConfigType = 6
	cfgList    kmsg.ConfigType = 7
)

// Kafka's ConfigSource numbers (DescribeConfigs v1+); the dynamic
// broker ones are in config_dynamic.go.
const (
	srcDynamicTopic kmsg.ConfigSource = 1
	srcStaticBroker kmsg.ConfigSource = 4
	srcDefault      kmsg.ConfigSource = 5
)

func validLong(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		if n < min {
			return fmt.Errorf("%d is below the minimum %d", n, min)
		}
		return nil
	}
}

// validBool accepts what Kafka's BOOLEAN config type does: true or false
// in any case.
func validBool(v string) error {
	if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		return fmt.Errorf("%q is not true or false", v)
	}
	return nil
}

func validInt(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a 32-bit integer", v)
		}
		if n < min {
			return fmt.Errorf("%d is below the minimum %d", n, min)
		}
		return nil
	}
}

func validOneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, ok := range vals {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(vals, ", "))
	}
}

// topicConfigs lists the topic-level configs, sorted by name.
var topicConfigs = []topicConfig{
	{"cleanup.policy", "log.cleanup.policy", cfgList, validCleanupPolicy},
	{"delete.retention.ms", "log.cleaner.delete.retention.ms", cfgLong, validLong(0)},
	{"file.delete.delay.ms", "log.segment.delete.delay.ms", cfgLong, validLong(0)},
	{"flush.messages", "log.flush.interval.messages", cfgLong, validLong(1)},
	{"flush.ms", "log.flush.interval.ms", cfgLong, validLong(0)},
	{"index.interval.bytes", "log.index.interval.bytes", cfgInt, validInt(0)},
	{"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", cfgLong, validLong(1)},
	{"max.message.bytes", "message.max.bytes", cfgInt, validInt(0)},
	{"message.timestamp.type", "log.message.timestamp.type", cfgString, validOneOf("CreateTime", "LogAppendTime")},
	{"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", cfgDouble, validDouble(0, 1)},
	{"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", cfgLong, validLong(0)},
	{"min.insync.replicas", "min.insync.replicas", cfgInt, validInt(1)},
	{"retention.bytes", "log.retention.bytes", cfgLong, validLong(-1 << 63)},
	{"retention.ms", "log.retention.ms", cfgLong, validLong(-1)},
	{"segment.bytes", "log.segment.bytes", cfgInt, validInt(14)},
	{"segment.index.bytes", "log.index.size.max.bytes", cfgInt, validInt(4)},
	{"segment.ms", "log.roll.ms", cfgLong, validLong(1)},
	{"unclean.leader.election.enable", "unclean.leader.election.enable", cfgBoolean, validBool},
}

func findTopicConfig(name string) (topicConfig, bool) {
	i := sort.Search(len(topicConfigs), func(i int) bool { return topicConfigs[i].name >= name })
	if i < len(topicConfigs) && topicConfigs[i].name == name {
		return topicConfigs[i], true
	}
	return topicConfig{}, false
}

// validateTopicConfigs checks every override; the error names the config.
func validateTopicConfigs(cfgs map[string]string) error {
	for _, name := range sortedKeys(cfgs) {
		tc, ok := findTopicConfig(name)
		if !ok {
			return fmt.Errorf("unknown topic config %s", name)
		}
		if err := tc.validate(cfgs[name]); err != nil {
			return fmt.Errorf("invalid value for %s: %v", name, err)
		}
	}
	return nil
}

// brokerDefault returns the broker-level value behind a topic config
// and its source: the head of Kafka's synonym list (config_dynamic.go).
func (c Config) brokerDefault(tc topicConfig) (string, kmsg.ConfigSource) {
	src := c.synonymsOf(brokerSynonyms(tc.synonym))[0].source
	switch tc.synonym { // values resolved from synonyms
	case "log.retention.ms":
		return strconv.FormatInt(c.Log.RetentionMs, 10), src
	case "log.roll.ms":
		return strconv.FormatInt(c.Log.SegmentMs, 10), src
	}
	if v, _, ok := c.propLevel(tc.synonym); ok {
		return v, src
	}
	p, ok := findProperty(tc.synonym)
	if !ok {
		panic("topic config without broker synonym: " + tc.name)
	}
	return p.def, src
}

// value resolves a topic config for t: the override, else the broker's.
func (c Config) topicValue(t *topic, tc topicConfig) (string, kmsg.ConfigSource) {
	if v, ok := t.configs[tc.name]; ok {
		return v, srcDynamicTopic
	}
	return c.brokerDefault(tc)
}

// topicBool resolves a boolean topic config (the broker's default for a
// topic this broker does not know).
func (c Config) topicBool(t *topic, name string) bool {
	tc, ok := findTopicConfig(name)
	if !ok {
		panic("unknown topic config " + name)
	}
	v, _ := c.brokerDefault(tc)
	if t != nil {
		v, _ = c.topicValue(t, tc)
	}
	return strings.EqualFold(strings.TrimSpace(v), "true")
}

func (c Config) topicInt(t *topic, name string) int64 {
	tc, ok := findTopicConfig(name)
	if !ok {
		panic("unknown topic config " + name)
	}
	v, _ := c.topicValue(t, tc)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("validated config %s=%q not an integer", name, v))
	}
	return n
}

// logConfig returns the store-facing settings of t.
func (c Config) logConfig(t *topic) LogConfig { return c.settingsOf(t).log }

// resolveLogConfig resolves the store-facing settings of t.
func (c Config) resolveLogConfig(t *topic) LogConfig {
	lc := LogConfig{
		SegmentBytes:       c.topicInt(t, "segment.bytes"),
		SegmentMs:          c.topicInt(t, "segment.ms"),
		RetentionMs:        c.topicInt(t, "retention.ms"),
		RetentionBytes:     c.topicInt(t, "retention.bytes"),
		IndexIntervalBytes: int32(c.topicInt(t, "index.interval.bytes")),
		SegmentIndexBytes:  int32(c.topicInt(t, "segment.index.bytes")),
		FileDeleteDelayMs:  c.topicInt(t, "file.delete.delay.ms"),
		ProducersMax:       c.ProducersPerPartMax,
		Coverage:           c.Coverage,
	}
	c.compactionConfig(t, &lc)
	return lc
}

// validTopicName applies Kafka's rules: 1..249 characters of [a-zA-Z0-9._-],
// and not "." or "..".
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("topic name %q is illegal", name)
	}
	if len(name) > 249 {
		return fmt.Errorf("topic name is longer than 249 characters")
	}
	for _, r := range name {
		ok := r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("topic name %q contains a character other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

// encodeUUID renders an id the way Kafka's Uuid.toString does: URL-safe
// base64 without padding.
func encodeUUID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func decodeUUID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("bad uuid %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// sortedKeys lists a map's keys in order: the deterministic way to
// iterate a map.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	// order-independent: keys collected, then sorted
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// partitionRoom returns how many more partitions max.partitions.per.broker
// allows, counting those of creations and growths still being persisted.

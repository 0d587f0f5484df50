package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Dynamic configuration, as Kafka keeps it with ZooKeeper
// (DynamicBrokerConfig, ZkConfigManager):
//
//   - A topic's overrides are /config/topics/<t>; a broker's dynamic
//     properties are /config/brokers/<id>, and the cluster-wide ones
//     /config/brokers/<default>. Each is {"version":1,"config":{...}}.
//   - The broker that alters one writes it conditionally on the version
//     it read (retried when another writer got there first), applies it
//     at once, then creates a sequential /config/changes/config_change_
//     notification naming the entity ("topics/<t>", "brokers/<id>",
//     "brokers/<default>").
//   - Every broker watches /config/changes and rereads the entity each new
//     notification names. At each registration (a new session may have
//     missed notifications) it rereads every known topic's overrides and
//     both broker documents.
//   - A broker property's value is the first found of: this broker's
//     dynamic value (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic
//     value (DYNAMIC_DEFAULT_BROKER_CONFIG), the configuration file
//     (STATIC_BROKER_CONFIG), Kafka's default (DEFAULT_CONFIG). Where
//     synonyms exist (log.retention.ms, .minutes, .hours) the finest one
//     set at any level wins, as Kafka resolves the merged properties.
//   - A topic without an override follows the broker's value; since
//     every effect on a log carries the configuration resolved when it is
//     emitted, a change applies to the running logs at their next append,
//     retention check or cleaning, without a restart.

const (
	srcDynamicBroker  kmsg.ConfigSource = 2
	srcDynamicDefault kmsg.ConfigSource = 3

	zkBrokerConfigs     = "/config/brokers/"
	brokerDefaultEntity = "<default>"
)

// dynamicExtra are the broker properties, beyond those that default a
// topic config, that Kafka updates at run time (LogCleaner's and
// DynamicThreadPool's reconfigurable configs, num.network.threads).
var dynamicExtra = []string{
	"log.retention.minutes", "log.retention.hours", "log.roll.hours",
	"log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.size",
	"log.cleaner.io.buffer.load.factor", "log.cleaner.io.max.bytes.per.second", "log.cleaner.backoff.ms",
	"log.scrub.bytes.per.second",
	"num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir", "num.network.threads",
}

// threadPoolProps are the thread counts Kafka lets change only within
// half to double the current value (DynamicThreadPool).
var threadPoolProps = []string{"num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir", "num.network.threads"}

// dynamicProp says whether the broker property name may change at run
// time.
func dynamicProp(name string) bool {
	if slices.Contains(dynamicExtra, name) {
		return true
	}
	p, ok := findProperty(name)
	return ok && p.topic != ""
}

// startOnlyProp says whether name is a property Kafka updates per
// broker at run time that Cloud Kafka sets only at start: the listeners
// and their security, bound when the process starts.
func startOnlyProp(name string) bool {
	switch name {
	case "listeners", "advertised.listeners", "listener.security.protocol.map", "principal.builder.class":
		return true
	}
	return strings.HasPrefix(name, "ssl.") || strings.HasPrefix(name, "sasl.") || strings.HasPrefix(name, "listener.name.")
}

func findProperty(name string) (property, bool) {
	for _, p := range properties {
		if p.name == name {
			return p, true
		}
	}
	return property{}, false
}

// brokerSynonyms lists a broker property's synonyms, finest first
// (Kafka's KafkaConfig synonyms).
func brokerSynonyms(name string) []string {
	// order-independent: one entry matches
	for fine, coarse := range precedence {
		if name == fine || slices.Contains(coarse, name) {
			out := []string{fine}
			for i := len(coarse) - 1; i >= 0; i-- { // coarse lists hours before minutes
				out = append(out, coarse[i])
			}
			return out
		}
	}
	return []string{name}
}

// checkBrokerDynamic applies Kafka's rules to a broker entity's new
// dynamic properties (DynamicBrokerConfig.validate): properties that
// cannot change at run time, values that do not parse, thread counts
// beyond half to double. Names that are no property here are kept, as
// Kafka keeps custom properties; they change nothing. The error is
// INVALID_REQUEST's message, as Kafka answers (KAFKA-13609).
func (b *Broker) checkBrokerDynamic(entity string, config map[string]string) error {
	var fixed, startOnly []string
	for _, name := range sortedKeys(config) {
		switch {
		case startOnlyProp(name):
			startOnly = append(startOnly, name)
		case dynamicProp(name):
		default:
			if _, ok := findProperty(name); ok {
				fixed = append(fixed, name)
			}
		}
	}
	if len(fixed) > 0 {
		return fmt.Errorf("Cannot update these configs dynamically: Set(%s)", strings.Join(fixed, ", "))
	}
	if len(startOnly) > 0 {
		return fmt.Errorf("Cannot update these configs dynamically: Set(%s): listeners and their security are set when the broker starts", strings.Join(startOnly, ", "))
	}
	def, own := b.dyn.defaults, b.dyn.own
	if entity == brokerDefaultEntity {
		def = config
	} else {
		own = config
	}
	next, err := b.dyn.static.withDynamic(def, own)
	if err != nil {
		return err
	}
	for _, name := range threadPoolProps {
		oldV, _, _ := b.cfg.propLevel(name)
		newV, _, _ := next.propLevel(name)
		o, _ := strconv.ParseInt(orDefault(name, oldV), 10, 64)
		n, _ := strconv.ParseInt(orDefault(name, newV), 10, 64)
		if n != o && (n < o/2 || n > o*2) {
			return fmt.Errorf("Dynamic thread count update validation failed for %s=%d, value should be between half and double the current value %d", name, n, o)
		}
	}
	return nil
}

func orDefault(name, v string) string {
	if v != "" {
		return v
	}
	if p, ok := findProperty(name); ok {
		return p.def
	}
	return ""
}

// withDynamic resolves c (the configuration the broker started with)
// with the cluster-wide and this broker's dynamic properties over it:
// the dynamic properties and the static values of their synonyms are
// applied again in Kafka's order (coarse before fine), so the finest
// name set at any level wins. Names that are no dynamic property are
// kept for DescribeConfigs but change nothing.
func (c Config) withDynamic(def, own map[string]string) (Config, error) {
	out := c
	merged := map[string]string{}
	for _, layer := range []map[string]string{c.Set, def, own} {
		for _, name := range sortedKeys(layer) {
			if dynamicProp(name) {
				merged[name] = layer[name]
			}
		}
	}
	names := sortedKeys(merged)
	slices.SortStableFunc(names, func(x, y string) int { return strings.Compare(rank(x), rank(y)) })
	for _, name := range names {
		p, _ := findProperty(name)
		if err := p.apply(&out, merged[name]); err != nil {
			return c, err
		}
	}
	out.DynamicDefault, out.Dynamic = def, own
	if err := out.Validate(); err != nil {
		return c, err
	}
	return out, nil
}

// propLevel returns where a broker property's value comes from: this
// broker's dynamic value, the cluster-wide one, the file; ok false (and
// no value) means Kafka's default.
func (c Config) propLevel(name string) (string, kmsg.ConfigSource, bool) {
	if v, ok := c.Dynamic[name]; ok {
		return v, srcDynamicBroker, true
	}
	if v, ok := c.DynamicDefault[name]; ok {
		return v, srcDynamicDefault, true
	}
	if v, ok := c.Set[name]; ok {
		return v, srcStaticBroker, true
	}
	return "", srcDefault, false
}

// configSynonym is one entry of DescribeConfigs' synonyms.
type configSynonym struct {
	name, value string
	source      kmsg.ConfigSource
}

// synonymsOf lists, in Kafka's order (ConfigHelper.configSynonyms), the
// values of a broker property's synonyms at each level: this broker's
// dynamic ones, the cluster-wide ones, the file's, then the default
// (which Kafka has only for the coarsest of a group: log.retention.hours,
// log.roll.hours).
func (c Config) synonymsOf(names []string) []configSynonym {
	var out []configSynonym
	for _, layer := range []struct {
		m   map[string]string
		src kmsg.ConfigSource
	}{{c.Dynamic, srcDynamicBroker}, {c.DynamicDefault, srcDynamicDefault}, {c.Set, srcStaticBroker}} {
		for _, n := range names {
			if v, ok := layer.m[n]; ok {
				out = append(out, configSynonym{n, v, layer.src})
			}
		}
	}
	last := names[len(names)-1]
	if p, ok := findProperty(last); ok {
		out = append(out, configSynonym{last, p.def, srcDefault})
	}
	return out
}

// dynState is the broker's dynamic configuration and the change
// notifications it has handled.
type dynState struct {
	static        Config            // the configuration the broker started with
	defaults, own map[string]string // /config/brokers/<default> and /config/brokers/<id>
	// handled lists the notifications read (by znode name); fresh asks
	// the next listing to reread everything instead.
	handled map[string]bool
	fresh   bool
	epoch   int
	retryAt Instant
	// reads numbers the reads of the broker documents as they are
	// issued; applied is the number of the last read applied, or, after
	// an AlterConfigs applied its own write, of the last read issued: a
	// read's answer applies only if no later one was applied since, so
	// that answers that come back out of order never undo a newer
	// configuration.
	reads, applied uint64
}

// configChangeRetryMs spaces the attempts to read notifications or
// configurations after a read of the store failed.
const configChangeRetryMs = 1000

// recoverDynamic applies the broker documents found at start.
func (b *Broker) recoverDynamic(byPath map[string][]byte) {
	b.dyn.static = b.cfg
	def, _ := userConfig(byPath[zkBrokerConfigs+brokerDefaultEntity])
	own, _ := userConfig(byPath[zkBrokerConfigs+strconv.Itoa(int(b.cfg.BrokerID))])
	b.setBrokerDynamic(def, own)
}

// setBrokerDynamic makes the broker run with these dynamic layers. A
// value that does not apply (written by another tool) is left out.
func (b *Broker) setBrokerDynamic(def, own map[string]string) {
	def, own = b.usableDynamic(def, nil), b.usableDynamic(own, def)
	next, err := b.dyn.static.withDynamic(def, own)
	if err != nil {
		return // the layers apply one by one but not together: keep what runs
	}
	b.dyn.defaults, b.dyn.own = def, own
	next.gen = b.cfg.gen + 1
	b.cfg = next
}

// usableDynamic keeps the entries of a dynamic layer that apply.
func (b *Broker) usableDynamic(layer, under map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range sortedKeys(layer) {
		if startOnlyProp(name) {
			continue
		}
		if dynamicProp(name) {
			if _, err := b.dyn.static.withDynamic(under, map[string]string{name: layer[name]}); err != nil {
				continue
			}
		}
		out[name] = layer[name]
	}
	return out
}

// watchConfigChanges lists /config/changes with a watch and handles the
// notifications not handled yet; after a registration (fresh) it
// rereads every configuration instead.
func (b *Broker) watchConfigChanges() {
	b.dyn.epoch++
	epoch := b.dyn.epoch
	b.coordRead(CoordOp{Kind: CoordChildren, Path: zkConfigChange, Watch: true}, func(r CoordResult) {
		if epoch != b.dyn.epoch {
			return
		}
		if r.Err != nil {
			b.dyn.retryAt = b.now + Instant(configChangeRetryMs*1e6)
			return
		}
		if b.dyn.handled == nil {
			b.dyn.handled = map[string]bool{}
		}
		present := map[string]bool{}
		for _, name := range r.Children {
			present[name] = true
		}
		// order-independent: deletes by a per-entry test
		for name := range b.dyn.handled {
			if !present[name] {
				delete(b.dyn.handled, name)
			}
		}
		if b.dyn.fresh {
			b.dyn.fresh = false
			for _, name := range r.Children {
				b.dyn.handled[name] = true
			}
			b.rereadConfigs()
			return
		}
		children := slices.Clone(r.Children)
		slices.Sort(children)
		for _, name := range children {
			if b.dyn.handled[name] {
				continue
			}
			b.dyn.handled[name] = true
			b.coordRead(CoordOp{Kind: CoordGet, Path: zkConfigChange + "/" + name}, func(r CoordResult) {
				switch {
				case errors.Is(r.Err, ErrCoordNoNode): // purged: nothing to do
				case r.Err != nil:
					delete(b.dyn.handled, name) // read it again
					b.dyn.retryAt = b.now + Instant(configChangeRetryMs*1e6)
				default:
					b.configChanged(r.Data)
				}
			})
		}
	})
}

// configChanged rereads the entity a notification names.
func (b *Broker) configChanged(data []byte) {
	var z configChangeZnode
	if err := json.Unmarshal(data, &z); err != nil || bugOn(BugConfigChangesIgnored) { // BUG SITE (simbugs): no reread
		return
	}
	kind, name, _ := strings.Cut(z.EntityPath, "/")
	switch kind {
	case "topics":
		if t := b.topics[name]; t != nil {
			b.readTopicConfig(t, true)
		}
	case "brokers":
		if name == brokerDefaultEntity || name == strconv.Itoa(int(b.cfg.BrokerID)) {
			b.readBrokerConfigs(true)
		}
	}
}

// rereadConfigs reads every known topic's overrides and both broker
// documents again.
func (b *Broker) rereadConfigs() {
	for _, name := range b.topicNames() {
		b.readTopicConfig(b.topics[name], false)
	}
	b.readBrokerConfigs(false)
}

// readBrokerConfigs reads /config/brokers/<default> and this broker's
// document and applies them (a failed read is tried again); notified
// says a change notification asked for it.
func (b *Broker) readBrokerConfigs(notified bool) {
	var def, own map[string]string
	pending, failed := 2, false
	b.dyn.reads++
	seq := b.dyn.reads
	finish := func() {
		if pending--; pending > 0 {
			return
		}
		if failed {
			b.dyn.fresh = true // reread everything on the retry
			b.dyn.retryAt = b.now + Instant(configChangeRetryMs*1e6)
			return
		}
		if seq <= b.dyn.applied {
			return // a later read, or the broker's own write, was applied meanwhile
		}
		b.dyn.applied = seq
		if b.applyBrokerDynamic(def, own) && notified {
			b.cover(cover.DynamicConfigPropagated)
		}
	}
	read := func(entity string, into *map[string]string) {
		b.coordRead(CoordOp{Kind: CoordGet, Path: zkBrokerConfigs + entity}, func(r CoordResult) {
			if r.Err != nil && !errors.Is(r.Err, ErrCoordNoNode) {
				failed = true
			} else if c, err := userConfig(r.Data); err == nil {
				*into = c
			}
			finish()
		})
	}
	read(brokerDefaultEntity, &def)
	read(strconv.Itoa(int(b.cfg.BrokerID)), &own)
}

// applyBrokerDynamic runs with new broker layers and reports each layer
// that changed to the runtime (which logs it); it says whether any did.
func (b *Broker) applyBrokerDynamic(def, own map[string]string) bool {
	changed := false
	oldDef, oldOwn := b.dyn.defaults, b.dyn.own
	b.setBrokerDynamic(def, own)
	for _, l := range []struct {
		entity   string
		old, new map[string]string
	}{{brokerDefaultEntity, oldDef, b.dyn.defaults}, {strconv.Itoa(int(b.cfg.BrokerID)), oldOwn, b.dyn.own}} {
		if !mapsEqual(l.old, l.new) {
			changed = true
			b.reportConfig("brokers/"+l.entity, l.new)
		}
	}
	return changed
}

// reportConfig tells the runtime an entity's configuration changed, and
// which of its names change nothing here.
func (b *Broker) reportConfig(entity string, config map[string]string) {
	u := &ConfigUpdate{Entity: entity, Config: config}
	if strings.HasPrefix(entity, "brokers/") {
		for _, name := range sortedKeys(config) {
			if p, ok := findProperty(name); !ok || p.noEffect || slices.Contains(threadPoolProps, name) {
				u.NoEffect = append(u.NoEffect, name)
			}
		}
	}
	b.emit(Lifecycle{ConfigUpdated: u})
}

// configTick retries a failed read of notifications or configurations.
func (b *Broker) configTick() {
	if b.dyn.retryAt != 0 && b.now >= b.dyn.retryAt {
		b.dyn.retryAt = 0
		b.watchConfigChanges()
	}
}

// entityWriteRetries bounds the attempts of a conditional write of an
// entity's document that raced with another writer.
const entityWriteRetries = 10

// alterEntityConfig changes the document of an entity under /config
// ("topics/t", "users/alice", "brokers/<default>"): it reads it, lets
// change compute the new configuration (an error stops there, nothing
// written), writes it conditionally on the version read (again from the
// read when another writer got there first), then creates a
// /config/changes notification for every broker. done gets the
// configuration written (nil when nothing was) and the error, if any:
// a written configuration whose notification failed comes with that
// error. A write whose outcome is unknown is still announced: it may
// have been made.
func (b *Broker) alterEntityConfig(entity string, change func(map[string]string) (map[string]string, error), done func(map[string]string, error)) {
	path := "/config/" + entity
	var attempt func(tries int)
	attempt = func(tries int) {
		b.coordRead(CoordOp{Kind: CoordGet, Path: path}, func(r CoordResult) {
			exists := r.Err == nil
			if !exists && !errors.Is(r.Err, ErrCoordNoNode) {
				done(nil, r.Err)
				return
			}
			config, err := userConfig(r.Data)
			if err != nil {
				config = map[string]string{} // an unreadable document is replaced
			}
			config, err = change(config)
			if err != nil {
				done(nil, err)
				return
			}
			data := userConfigData(config)
			op := createOp(path, data)
			if exists {
				op = CoordOp{Kind: CoordSet, Path: path, Data: data, Version: r.Stat.Version}
			}
			b.coordWrite(op, func(err error) {
				if (errors.Is(err, ErrCoordBadVersion) || errors.Is(err, ErrCoordNodeExists) || errors.Is(err, ErrCoordNoNode)) && tries+1 < entityWriteRetries {
					attempt(tries + 1)
					return
				}
				note := createOp(configChange, mustJSON(configChangeZnode{Version: 2, EntityPath: entity}))
				note.Sequential = true
				if err != nil {
					b.coordWrite(note, func(error) { done(nil, err) })
					return
				}
				b.coordWrite(note, func(err error) { done(config, err) })
			})
		})
	}
	attempt(0)
}

func mapsEqual(x, y map[string]string) bool {
	if len(x) != len(y) {
		return false
	}
	// order-independent: a per-entry comparison
	for k, v := range x {
		if w, ok := y[k]; !ok || w != v {
			return false
		}
	}
	return true
}

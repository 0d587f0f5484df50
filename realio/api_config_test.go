package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dynamic configuration on one broker and its embedded coordinator:
// AlterConfigs (33) replaces a resource's configuration,
// IncrementalAlterConfigs (44) edits it; DescribeConfigs shows the
// result with its sources, and a restart keeps it.

func init() {
	versionCases[33] = versionCase{0, 2, testAlterConfigs}
	versionCases[44] = versionCase{0, 1, testIncrementalAlterConfigs}
}

// describedConfig returns one config of a resource as DescribeConfigs
// v4 (with synonyms) reports it; ok false when it is not listed.
func describedConfig(t *testing.T, c *client, typ kmsg.ConfigResourceType, resource, name string) (kmsg.DescribeConfigsResponseResourceConfig, bool) {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = typ, resource, []string{name}
	req.Resources, req.IncludeSynonyms, req.IncludeDocumentation = append(req.Resources, res), true, true
	resp := call[*kmsg.DescribeConfigsResponse](t, c, 4, req)
	if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("DescribeConfigs %d %q: got %+v; want that resource without error", typ, resource, resp.Resources)
	}
	for _, cfg := range resp.Resources[0].Configs {
		if cfg.Name == name {
			return cfg, true
		}
	}
	return kmsg.DescribeConfigsResponseResourceConfig{}, false
}

// expectConfig checks a config's value and source.
func expectConfig(t *testing.T, c *client, typ kmsg.ConfigResourceType, resource, name, value string, source kmsg.ConfigSource) {
	t.Helper()
	cfg, ok := describedConfig(t, c, typ, resource, name)
	switch {
	case !ok:
		t.Errorf("%s of %q: not described; want %q from source %d", name, resource, value, source)
	case cfg.Value == nil || *cfg.Value != value || cfg.Source != source:
		t.Errorf("%s of %q: got %v from source %d; want %q from source %d", name, resource, strOrNull(cfg.Value), cfg.Source, value, source)
	}
}

const (
	srcTopic         kmsg.ConfigSource = 1
	srcDynBroker     kmsg.ConfigSource = 2
	srcDynDefault    kmsg.ConfigSource = 3
	srcStatic        kmsg.ConfigSource = 4
	srcDefaultConfig kmsg.ConfigSource = 5
)

// ---- AlterConfigs (33) ----

func alterConfigs(t *testing.T, c *client, v int16, validateOnly bool, resources ...kmsg.AlterConfigsRequestResource) []kmsg.AlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Resources, req.ValidateOnly = resources, validateOnly
	resp := call[*kmsg.AlterConfigsResponse](t, c, v, req)
	if len(resp.Resources) != len(resources) {
		t.Fatalf("AlterConfigs: got %d resources; want %d", len(resp.Resources), len(resources))
	}
	return resp.Resources
}

func legacyResource(typ kmsg.ConfigResourceType, name string, kv ...string) kmsg.AlterConfigsRequestResource {
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = typ, name
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = kv[i], kmsg.StringPtr(kv[i+1])
		res.Configs = append(res.Configs, c)
	}
	return res
}

// testAlterConfigs: the given entries replace a topic's overrides or a
// broker's dynamic properties; bad names and values change nothing; a
// restart keeps what was set.
func testAlterConfigs(t *testing.T, v int16) {
	dir := t.TempDir()
	b := startBroker(t, map[string]string{"log.dirs": dir, "log.segment.bytes": "1048576"})
	c := b.dial(t)
	createTopic(t, c, "ac", 1, map[string]string{"retention.ms": "12345"})
	topic := kmsg.ConfigResourceTypeTopic
	broker := kmsg.ConfigResourceTypeBroker

	res := alterConfigs(t, c, v, false, legacyResource(topic, "ac", "cleanup.policy", "compact", "segment.bytes", "65536"))
	checkCode(t, "AlterConfigs ac", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ac", "cleanup.policy", "compact", srcTopic)
	expectConfig(t, c, topic, "ac", "segment.bytes", "65536", srcTopic)
	// retention.ms was not given: the whole set was replaced
	expectConfig(t, c, topic, "ac", "retention.ms", "604800000", srcDefaultConfig)

	res = alterConfigs(t, c, v, true, legacyResource(topic, "ac", "retention.ms", "1000"))
	checkCode(t, "AlterConfigs ac validate only", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ac", "cleanup.policy", "compact", srcTopic)

	for _, bad := range [][]string{{"no.such.config", "1"}, {"retention.ms", "soon"}, {"segment.bytes", "10"}} {
		res = alterConfigs(t, c, v, false, legacyResource(topic, "ac", bad...))
		checkCode(t, "AlterConfigs ac "+bad[0]+"="+bad[1], res[0].ErrorCode, kerr.InvalidConfig.Code)
		if res[0].ErrorMessage == nil || *res[0].ErrorMessage == "" {
			t.Errorf("AlterConfigs ac %v: no error message; want one", bad)
		}
	}
	expectConfig(t, c, topic, "ac", "segment.bytes", "65536", srcTopic)

	res = alterConfigs(t, c, v, false, legacyResource(topic, "nope", "retention.ms", "1000"), legacyResource(topic, "", "retention.ms", "1000"))
	checkCode(t, "AlterConfigs unknown topic", res[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	checkCode(t, "AlterConfigs default topic", res[1].ErrorCode, kerr.InvalidRequest.Code)
	res = alterConfigs(t, c, v, false, legacyResource(topic, "ac", "retention.ms", "1000"), legacyResource(topic, "ac", "retention.ms", "2000"))
	checkCode(t, "AlterConfigs ac twice (first)", res[0].ErrorCode, kerr.InvalidRequest.Code)
	checkCode(t, "AlterConfigs ac twice (second)", res[1].ErrorCode, kerr.InvalidRequest.Code)

	// Brokers: the cluster-wide default, then this broker's own value.
	res = alterConfigs(t, c, v, false, legacyResource(broker, "", "log.retention.bytes", "1000000"))
	checkCode(t, "AlterConfigs brokers default", res[0].ErrorCode, 0)
	expectConfig(t, c, broker, "0", "log.retention.bytes", "1000000", srcDynDefault)
	expectConfig(t, c, broker, "", "log.retention.bytes", "1000000", srcDynDefault)
	expectConfig(t, c, topic, "ac", "retention.bytes", "1000000", srcDynDefault)
	res = alterConfigs(t, c, v, false, legacyResource(broker, "0", "log.retention.bytes", "2000000", "log.segment.bytes", "2097152"))
	checkCode(t, "AlterConfigs broker 0", res[0].ErrorCode, 0)
	expectConfig(t, c, broker, "0", "log.retention.bytes", "2000000", srcDynBroker)
	expectConfig(t, c, broker, "0", "log.segment.bytes", "2097152", srcDynBroker)
	expectConfig(t, c, topic, "ac", "retention.bytes", "2000000", srcDynBroker)
	expectConfig(t, c, topic, "ac", "segment.bytes", "65536", srcTopic) // the override still wins

	for _, bad := range []struct {
		name string
		kv   []string
	}{{"0", []string{"broker.id", "3"}}, {"0", []string{"listeners", "PLAINTEXT://127.0.0.1:9999"}},
		{"0", []string{"log.retention.bytes", "lots"}}, {"7", []string{"log.retention.bytes", "1"}},
		{"x", []string{"log.retention.bytes", "1"}}, {"0", []string{"num.io.threads", "100"}}} {
		res = alterConfigs(t, c, v, false, legacyResource(broker, bad.name, bad.kv...))
		checkCode(t, "AlterConfigs broker "+bad.name+" "+bad.kv[0], res[0].ErrorCode, kerr.InvalidRequest.Code)
	}
	expectConfig(t, c, broker, "0", "log.retention.bytes", "2000000", srcDynBroker)

	// A restart keeps every change.
	b.shutdown(t)
	b = startBroker(t, map[string]string{"log.dirs": dir, "log.segment.bytes": "1048576"})
	c = b.dial(t)
	expectConfig(t, c, topic, "ac", "cleanup.policy", "compact", srcTopic)
	expectConfig(t, c, topic, "ac", "retention.bytes", "2000000", srcDynBroker)
	expectConfig(t, c, broker, "0", "log.segment.bytes", "2097152", srcDynBroker)
	expectConfig(t, c, broker, "", "log.retention.bytes", "1000000", srcDynDefault)
}

// ---- IncrementalAlterConfigs (44) ----

func incAlter(t *testing.T, c *client, v int16, validateOnly bool, resources ...kmsg.IncrementalAlterConfigsRequestResource) []kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Resources, req.ValidateOnly = resources, validateOnly
	resp := call[*kmsg.IncrementalAlterConfigsResponse](t, c, v, req)
	if len(resp.Resources) != len(resources) {
		t.Fatalf("IncrementalAlterConfigs: got %d resources; want %d", len(resp.Resources), len(resources))
	}
	return resp.Resources
}

type incOp struct {
	name  string
	op    kmsg.IncrementalAlterConfigOp
	value *string
}

func incResource(typ kmsg.ConfigResourceType, name string, ops ...incOp) kmsg.IncrementalAlterConfigsRequestResource {
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = typ, name
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = o.name, o.op, o.value
		res.Configs = append(res.Configs, c)
	}
	return res
}

// testIncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT edit the
// stored configuration, leaving the rest as it was.
func testIncrementalAlterConfigs(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "ic", 1, map[string]string{"retention.ms": "12345"})
	topic := kmsg.ConfigResourceTypeTopic
	broker := kmsg.ConfigResourceTypeBroker
	s := kmsg.StringPtr
	set, del := kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete
	app, sub := kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract

	res := incAlter(t, c, v, false, incResource(topic, "ic", incOp{"segment.bytes", set, s("65536")}))
	checkCode(t, "set segment.bytes", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ic", "segment.bytes", "65536", srcTopic)
	expectConfig(t, c, topic, "ic", "retention.ms", "12345", srcTopic) // kept

	res = incAlter(t, c, v, false, incResource(topic, "ic", incOp{"cleanup.policy", app, s("compact")}))
	checkCode(t, "append cleanup.policy", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ic", "cleanup.policy", "delete,compact", srcTopic)
	res = incAlter(t, c, v, false, incResource(topic, "ic", incOp{"cleanup.policy", sub, s("delete")}))
	checkCode(t, "subtract cleanup.policy", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ic", "cleanup.policy", "compact", srcTopic)

	res = incAlter(t, c, v, false, incResource(topic, "ic", incOp{"retention.ms", del, nil}))
	checkCode(t, "delete retention.ms", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ic", "retention.ms", "604800000", srcDefaultConfig)

	res = incAlter(t, c, v, true, incResource(topic, "ic", incOp{"segment.bytes", set, s("131072")}))
	checkCode(t, "validate only", res[0].ErrorCode, 0)
	expectConfig(t, c, topic, "ic", "segment.bytes", "65536", srcTopic)

	for _, bad := range []struct {
		what string
		ops  []incOp
		code int16
	}{
		{"append to a non-list", []incOp{{"retention.ms", app, s("5")}}, kerr.InvalidConfig.Code},
		{"unknown name", []incOp{{"no.such.config", set, s("5")}}, kerr.InvalidConfig.Code},
		{"bad value", []incOp{{"segment.bytes", set, s("big")}}, kerr.InvalidConfig.Code},
		{"null value", []incOp{{"segment.bytes", set, nil}}, kerr.InvalidRequest.Code},
		{"name twice", []incOp{{"segment.bytes", set, s("131072")}, {"segment.bytes", del, nil}}, kerr.InvalidRequest.Code},
		{"unknown operation", []incOp{{"segment.bytes", 9, s("131072")}}, kerr.InvalidRequest.Code},
		// the first change is fine, the second is not: neither is made
		{"one bad among good", []incOp{{"segment.bytes", set, s("131072")}, {"retention.ms", set, s("-7")}}, kerr.InvalidConfig.Code},
	} {
		res = incAlter(t, c, v, false, incResource(topic, "ic", bad.ops...))
		checkCode(t, bad.what, res[0].ErrorCode, bad.code)
	}
	expectConfig(t, c, topic, "ic", "segment.bytes", "65536", srcTopic)

	res = incAlter(t, c, v, false, incResource(broker, "0", incOp{"log.retention.bytes", set, s("3000000")}),
		incResource(broker, "", incOp{"log.cleanup.policy", app, s("compact")}))
	checkCode(t, "set broker 0 log.retention.bytes", res[0].ErrorCode, 0)
	checkCode(t, "append default log.cleanup.policy", res[1].ErrorCode, 0)
	expectConfig(t, c, broker, "0", "log.retention.bytes", "3000000", srcDynBroker)
	expectConfig(t, c, broker, "0", "log.cleanup.policy", "delete,compact", srcDynDefault)
	res = incAlter(t, c, v, false, incResource(broker, "0", incOp{"log.retention.bytes", del, nil}))
	checkCode(t, "delete broker 0 log.retention.bytes", res[0].ErrorCode, 0)
	expectConfig(t, c, broker, "0", "log.retention.bytes", "-1", srcDefaultConfig)

	res = incAlter(t, c, v, false, incResource(broker, "0", incOp{"log.dirs", set, s("/tmp/x")}),
		incResource(broker, "0", incOp{"num.replica.fetchers", set, s("3")}),
		incResource(kmsg.ConfigResourceType(9), "x", incOp{"a", set, s("b")}))
	checkCode(t, "set log.dirs", res[0].ErrorCode, kerr.InvalidRequest.Code)
	checkCode(t, "num.replica.fetchers beyond double", res[1].ErrorCode, kerr.InvalidRequest.Code)
	checkCode(t, "unknown resource type", res[2].ErrorCode, kerr.InvalidRequest.Code)
}

func strOrNull(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

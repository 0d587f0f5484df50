package core

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs: v1-4
//
// Behavior:
//   - Needs DescribeConfigs on the topic, or on the cluster for a
//     broker (acl.go): else TOPIC_AUTHORIZATION_FAILED or
//     CLUSTER_AUTHORIZATION_FAILED for that resource.
//   - Topic resources (type 2) list every topic-level config with its
//     resolved value and source: DYNAMIC_TOPIC_CONFIG for an override,
//     else where the broker's value comes from (config_dynamic.go).
//     Synonyms (when asked) list the override, then the broker
//     synonyms' values by level as Kafka orders them; the source is the
//     first synonym's.
//   - Broker resources (type 4) named by this broker's id list every
//     broker property, with its source (DYNAMIC_BROKER_CONFIG,
//     DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG or
//     DEFAULT_CONFIG) and ReadOnly unless it may change at run time. The
//     empty name lists the cluster-wide dynamic properties only. Another
//     id is INVALID_REQUEST.
//   - A null config list asks for all; unknown names are left out.
//   - Documentation (v3+) is each config's one-line description.

const (
	resourceTopic  = 2
	resourceBroker = 4
)

func (b *Broker) handleDescribeConfigs(r Request) {
	req := r.Body.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		want := func(name string) bool {
			if res.ConfigNames == nil {
				return true
			}
			for _, n := range res.ConfigNames {
				if n == name {
					return true
				}
			}
			return false
		}
		switch res.ResourceType {
		case resourceTopic:
			if !b.authorized(r, kmsg.ACLOperationDescribeConfigs, kmsg.ACLResourceTypeTopic, res.ResourceName) {
				out.ErrorCode = errTopicAuth
				break
			}
			t := b.topics[res.ResourceName]
			if t == nil {
				out.ErrorCode, out.ErrorMessage = errUnknownTopic, errMsg("unknown topic "+res.ResourceName)
				break
			}
			for _, tc := range topicConfigs {
				if want(tc.name) {
					out.Configs = append(out.Configs, b.describeTopicConfig(t, tc, req.IncludeSynonyms))
				}
			}
		case resourceBroker:
			if !b.authorizedCluster(r, kmsg.ACLOperationDescribeConfigs) {
				out.ErrorCode = errClusterAuth
				break
			}
			perBroker := res.ResourceName != ""
			if perBroker && res.ResourceName != strconv.Itoa(int(b.cfg.BrokerID)) {
				out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg(fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %s", b.cfg.BrokerID, res.ResourceName))
				break
			}
			for _, e := range b.cfg.BrokerProperties() {
				if !want(e.Name) {
					continue
				}
				if _, ok := b.cfg.DynamicDefault[e.Name]; !perBroker && !ok {
					continue
				}
				out.Configs = append(out.Configs, b.cfg.describeBrokerConfig(e, perBroker, req.IncludeSynonyms))
			}
		default:
			out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("unsupported resource type")
		}
		resp.Resources = append(resp.Resources, out)
	}
	b.respond(r, resp)
}

func (b *Broker) describeTopicConfig(t *topic, tc topicConfig, synonyms bool) kmsg.DescribeConfigsResponseResourceConfig {
	v, _ := b.cfg.topicValue(t, tc)
	all := b.cfg.synonymsOf(brokerSynonyms(tc.synonym))
	if ov, ok := t.configs[tc.name]; ok {
		all = append([]configSynonym{{tc.name, ov, srcDynamicTopic}}, all...)
	}
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.Source, c.ConfigType = tc.name, &v, all[0].source, tc.kind
	c.IsDefault = c.Source == srcDefault
	c.Documentation = docOf(tc.name)
	if synonyms {
		c.ConfigSynonyms = describeSynonyms(all)
	}
	return c
}

// describeBrokerConfig describes a broker property as Kafka's
// ConfigHelper does: its synonyms from the property itself on, the
// source of the first, and for the cluster-wide resource only the
// cluster-wide dynamic values.
func (c Config) describeBrokerConfig(e ConfigEntry, perBroker, synonyms bool) kmsg.DescribeConfigsResponseResourceConfig {
	names := brokerSynonyms(e.Name)
	all := c.synonymsOf(names)
	for len(all) > 0 && all[0].name != e.Name {
		all = all[1:]
	}
	if !perBroker {
		all = slices.DeleteFunc(all, func(s configSynonym) bool { return s.source != srcDynamicDefault })
	}
	v := e.Value
	out := kmsg.NewDescribeConfigsResponseResourceConfig()
	out.Name, out.Value, out.ConfigType = e.Name, &v, cfgString
	out.Source = srcDefault
	if len(all) > 0 {
		out.Source = all[0].source
	}
	if !perBroker {
		v = c.DynamicDefault[e.Name]
	}
	out.IsDefault = out.Source == srcDefault
	out.ReadOnly = !dynamicProp(e.Name)
	out.Documentation = docOf(e.Name)
	if e.Sensitive { // a secret is never shown, as Kafka answers
		out.Value, out.IsSensitive = nil, true
		for i := range all {
			all[i].value = ""
		}
	}
	if synonyms {
		out.ConfigSynonyms = describeSynonyms(all)
		if e.Sensitive {
			for i := range out.ConfigSynonyms {
				out.ConfigSynonyms[i].Value = nil
			}
		}
	}
	return out
}

func describeSynonyms(all []configSynonym) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	out := make([]kmsg.DescribeConfigsResponseResourceConfigConfigSynonym, 0, len(all))
	for _, s := range all {
		syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		v := s.value
		syn.Name, syn.Value, syn.Source = s.name, &v, s.source
		out = append(out, syn)
	}
	return out
}

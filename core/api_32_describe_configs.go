package core

import (
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
//     STATIC_BROKER_CONFIG when the broker property was set, else
//     DEFAULT_CONFIG. Synonyms (when asked) list the override and the
//     broker property behind it.
//   - Broker resources (type 4) named by this broker's id list every
//     broker property, STATIC_BROKER_CONFIG when set, else DEFAULT_CONFIG;
//     an empty name or another id is INVALID_REQUEST.
//   - A null config list asks for all; unknown names are left out.
//   - Documentation (v3+) is left empty.

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
			if res.ResourceName != strconv.Itoa(int(b.cfg.BrokerID)) {
				out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("broker resource must name broker "+strconv.Itoa(int(b.cfg.BrokerID)))
				break
			}
			for _, e := range b.cfg.BrokerProperties() {
				if want(e.Name) {
					out.Configs = append(out.Configs, describeBrokerConfig(e, req.IncludeSynonyms))
				}
			}
		default:
			out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("unsupported resource type")
		}
		resp.Resources = append(resp.Resources, out)
	}
	b.respond(r, resp)
}

func (b *Broker) describeTopicConfig(t *topic, tc topicConfig, synonyms bool) kmsg.DescribeConfigsResponseResourceConfig {
	v, src := b.cfg.topicValue(t, tc)
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.Source, c.ConfigType = tc.name, &v, src, tc.kind
	c.IsDefault = src == srcDefault
	if synonyms {
		if ov, ok := t.configs[tc.name]; ok {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = tc.name, &ov, srcDynamicTopic
			c.ConfigSynonyms = append(c.ConfigSynonyms, s)
		}
		bv, bsrc := b.cfg.brokerDefault(tc)
		s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		s.Name, s.Value, s.Source = tc.synonym, &bv, bsrc
		c.ConfigSynonyms = append(c.ConfigSynonyms, s)
	}
	return c
}

func describeBrokerConfig(e ConfigEntry, synonyms bool) kmsg.DescribeConfigsResponseResourceConfig {
	v := e.Value
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.ReadOnly, c.ConfigType = e.Name, &v, true, cfgString
	c.Source, c.IsDefault = srcDefault, true
	if e.Set {
		c.Source, c.IsDefault = srcStaticBroker, false
	}
	if e.Sensitive { // a secret is never shown, as Kafka answers
		c.Value, c.IsSensitive = nil, true
	}
	if synonyms {
		s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		s.Name, s.Value, s.Source = e.Name, c.Value, c.Source
		c.ConfigSynonyms = append(c.ConfigSynonyms, s)
	}
	return c
}

package core

import "github.com/twmb/franz-go/pkg/kmsg"

// AlterConfigs: v0-2
//
// Behavior: each resource's entries replace its whole stored
// configuration (names left out are removed), as Kafka's legacy
// AlterConfigs does; see config_alter.go for the checks and errors, and
// config_dynamic.go for how the change is stored, announced and applied.
// The answer lists every resource in request order once all are done.

func (b *Broker) handleAlterConfigs(r Request) {
	req := r.Body.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	resp.Resources = make([]kmsg.AlterConfigsResponseResource, len(req.Resources))
	targets := make([]alterTarget, len(req.Resources))
	for i, res := range req.Resources {
		out := &resp.Resources[i]
		*out = kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		changes := make([]configEdit, len(res.Configs))
		for j, c := range res.Configs {
			changes[j] = configEdit{name: c.Name, op: opSet, value: c.Value}
		}
		targets[i] = alterTarget{typ: int8(res.ResourceType), name: res.ResourceName, changes: changes,
			answer: func(code int16, msg *string) { out.ErrorCode, out.ErrorMessage = code, msg }}
	}
	b.alterResources(r, resp, targets, true, req.ValidateOnly)
}

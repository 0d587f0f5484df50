package core

import "github.com/twmb/franz-go/pkg/kmsg"

// IncrementalAlterConfigs: v0-1
//
// Behavior: each resource's operations (SET, DELETE, APPEND, SUBTRACT)
// edit its stored configuration; see config_alter.go for the checks and
// errors, and config_dynamic.go for how the change is stored, announced
// and applied. The answer lists every resource in request order once all
// are done.

func (b *Broker) handleIncrementalAlterConfigs(r Request) {
	req := r.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	resp.Resources = make([]kmsg.IncrementalAlterConfigsResponseResource, len(req.Resources))
	targets := make([]alterTarget, len(req.Resources))
	for i, res := range req.Resources {
		out := &resp.Resources[i]
		*out = kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		changes := make([]configEdit, len(res.Configs))
		for j, c := range res.Configs {
			changes[j] = configEdit{name: c.Name, op: int8(c.Op), value: c.Value}
		}
		targets[i] = alterTarget{typ: int8(res.ResourceType), name: res.ResourceName, changes: changes,
			answer: func(code int16, msg *string) { out.ErrorCode, out.ErrorMessage = code, msg }}
	}
	b.alterResources(r, resp, targets, false, req.ValidateOnly)
}

package core

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

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
	dup := duplicateResources(len(req.Resources), func(i int) string {
		return strconv.Itoa(int(req.Resources[i].ResourceType)) + "/" + req.Resources[i].ResourceName
	})
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for i, res := range req.Resources {
		out := &resp.Resources[i]
		*out = kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		answer := func(code int16, msg string) {
			out.ErrorCode = code
			if msg != "" {
				out.ErrorMessage = errMsg(msg)
			}
			finish()
		}
		pending++
		if dup[i] {
			answer(errInvalidRequest, "Each resource must appear at most once.")
			continue
		}
		changes := make([]configEdit, len(res.Configs))
		for j, c := range res.Configs {
			changes[j] = configEdit{name: c.Name, op: int8(c.Op), value: c.Value}
		}
		b.alterResource(r, int8(res.ResourceType), res.ResourceName, changes, false, req.ValidateOnly, answer)
	}
	finish()
}

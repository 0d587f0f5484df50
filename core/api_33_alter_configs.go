package core

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

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
		*out = kmsg.NewAlterConfigsResponseResource()
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
		if res.ResourceType == resourceBrokerLogger {
			answer(errInvalidRequest, "Unknown resource type 8")
			continue
		}
		changes := make([]configEdit, len(res.Configs))
		for j, c := range res.Configs {
			changes[j] = configEdit{name: c.Name, op: opSet, value: c.Value}
		}
		b.alterResource(r, int8(res.ResourceType), res.ResourceName, changes, true, req.ValidateOnly, answer)
	}
	finish()
}
